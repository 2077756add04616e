# A real AF_UNIX SOCK_DGRAM socket standing in for systemd's NOTIFY_SOCKET (tests only).
# argv[1]: a path, or @name for the abstract namespace. Prints "bound", then one JSON line per
# datagram: {"msg": text, "pid": sender pid from SCM_CREDENTIALS, "fds": passed fds (closed),
# "mono_ns": CLOCK_MONOTONIC at receipt (Node's process.hrtime clock), "wall_ms": wall clock at receipt}.
import array, json, os, socket, struct, sys, time

addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
print("bound", flush=True)
while True:
    msg, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(64))
    mono_ns, wall_ms = time.monotonic_ns(), time.time() * 1000
    pid, nfds = None, 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            for fd in fds:
                os.close(fd)  # closing the barrier fd is what releases systemd-notify
            nfds += len(fds)
    print(
        json.dumps(
            {"msg": msg.decode("utf-8", "replace"), "pid": pid, "fds": nfds, "mono_ns": mono_ns, "wall_ms": wall_ms}
        ),
        flush=True,
    )
