"""Test plugin: floods — N publishes as fast as it can write, one line longer than any bound,
then answers the `done` tool (so the test knows the flood was all read). Never reads events."""
import json
import sys

out = sys.stdout
sys.stdin.readline()  # init
hello = {"type": "hello", "name": "flood", "version": "1", "subscribe": [], "publish": ["plugin/flood/x"],
         "tools": [{"name": "done", "description": "", "parameters": {"type": "object"}}]}
out.write(json.dumps(hello) + "\n")
out.flush()
N = 20000
for i in range(N):
    out.write('{"type":"publish","topic":"plugin/flood/x","payload":{"i":%d}}\n' % i)
out.write('{"type":"log","level":"info","msg":"' + "y" * (3 * 1024 * 1024) + '"}\n')
out.flush()
for line in sys.stdin:
    m = json.loads(line)
    if m.get("type") == "tool_call":
        out.write(json.dumps({"type": "tool_result", "id": m["id"], "ok": True, "result": {"sent": N}}) + "\n")
        out.flush()
