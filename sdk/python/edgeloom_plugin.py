"""edgeloom plugin SDK for Python (standard library only).

Speaks the edgeloom plugin protocol, version 1 (docs/plugin-protocol.md): newline-delimited JSON
on stdin (daemon -> plugin) and stdout (plugin -> daemon). Copy this one file next to your plugin,
or put sdk/python on PYTHONPATH.

    from edgeloom_plugin import Plugin

    plugin = Plugin("thermostat", "1.0.0")

    @plugin.subscribe("plugin/bme280/reading")
    def on_reading(topic, payload, ts):
        plugin.publish("state", {"current_c": payload["temperature_c"]})

    @plugin.tool("set_target", "Set the target temperature.",
                 {"type": "object", "properties": {"celsius": {"type": "number"}},
                  "required": ["celsius"]})
    def set_target(args):
        return {"target_c": args["celsius"]}

    plugin.run()

Handlers run one at a time on the main thread, in the order events arrive. Never print to stdout
yourself: it is the protocol channel (use plugin.log, or stderr).

Replays: the SDK answers the daemon's `sync` once every earlier message is handled, so a replay at
speed 0 waits for your handlers after each record and their publishes carry that record's fixture
time, the same in every run. Timers (`every`) run on wall time: publish from event handlers what
a replay should reproduce.
"""

import base64
import json
import os
import selectors
import sys
import time
import traceback

PROTOCOL_VERSION = 1


def decode_binary(value):
    """A {"$b64": ...} value (a frame's JPEG, audio samples) -> bytes; anything else unchanged."""
    if isinstance(value, dict) and "$b64" in value:
        return base64.b64decode(value["$b64"])
    return value


class Plugin:
    def __init__(self, name, version="0.0.0"):
        self.name = name
        self.version = version
        self.id = os.environ.get("EDGELOOM_PLUGIN_ID", name)
        self.state_dir = os.environ.get("EDGELOOM_PLUGIN_STATE", ".")
        self.config = {}
        self._subscriptions = []  # (pattern, handler)
        self._tools = {}  # name -> (description, parameters, handler)
        self._publish = []
        self._sensors = []
        self._timers = []  # [interval_s, next_due, handler]
        self._init = None
        self._running = True
        self._out = sys.stdout
        sys.stdout = sys.stderr  # a stray print() must not corrupt the protocol

    # ------------------------------------------------------------ declarations

    def subscribe(self, pattern):
        """Decorator: handler(topic, payload, ts_ms) for events whose topic matches `pattern`."""

        def wrap(fn):
            self._subscriptions.append((pattern, fn))
            return fn

        return wrap

    def tool(self, name, description, parameters=None):
        """Decorator: handler(args) -> JSON result; raise to answer with an error."""

        def wrap(fn):
            self._tools[name] = (description, parameters or {"type": "object"}, fn)
            return fn

        return wrap

    def publishes(self, *names):
        """Declare the topic names this plugin publishes (plugin/<id>/<name>)."""
        self._publish.extend(names)

    def publishes_sensor(self, *sensor_ids):
        """Declare sensor ids whose readings this plugin publishes (sensor/plugin/<sensor id>);
        each must be listed in the plugin's `sensors` in edgeloom's configuration."""
        self._sensors.extend(sensor_ids)

    def every(self, interval_s):
        """Decorator: handler() every `interval_s` seconds (first call right after the hello)."""

        def wrap(fn):
            self._timers.append([interval_s, 0.0, fn])
            return fn

        return wrap

    def on_init(self, fn):
        """Decorator: handler(config) with the `config` from the daemon's configuration."""
        self._init = fn
        return fn

    # ------------------------------------------------------------ actions

    def publish(self, name, payload):
        """Publish a JSON object on plugin/<id>/<name>."""
        self._send({"type": "publish", "topic": "plugin/%s/%s" % (self.id, name), "payload": payload})

    def publish_sensor(self, sensor_id, payload):
        """Publish a reading (a JSON object) of a declared sensor id on sensor/plugin/<sensor_id>."""
        self._send({"type": "publish", "topic": "sensor/plugin/%s" % sensor_id, "payload": payload})

    def log(self, level, msg):
        self._send({"type": "log", "level": level, "msg": str(msg)})

    def health(self, ok, detail=""):
        self._send({"type": "health", "ok": bool(ok), "detail": str(detail)})

    def stop(self):
        self._running = False

    # ------------------------------------------------------------ loop

    def run(self):
        lines = self._lines()
        first = next(lines, None)
        if first is not None and first.get("type") == "init":
            self.config = first.get("config") or {}
            if self._init is not None:
                self._init(self.config)
        self._send(
            {
                "type": "hello",
                "name": self.name,
                "version": self.version,
                "protocol": PROTOCOL_VERSION,
                "subscribe": [p for p, _ in self._subscriptions],
                "publish": ["plugin/%s/%s" % (self.id, n) for n in self._publish]
                + ["sensor/plugin/%s" % s for s in self._sensors],
                "sync": True,
                "tools": [
                    {"name": n, "description": d, "parameters": p}
                    for n, (d, p, _) in self._tools.items()
                ],
            }
        )
        for msg in lines:
            if msg is None:
                self._run_timers()
                continue
            self._handle(msg)
            if not self._running:
                break

    def _handle(self, msg):
        kind = msg.get("type")
        if kind == "event":
            topic = msg.get("topic", "")
            for pattern, fn in self._subscriptions:
                if _matches(pattern, topic):
                    self._guard(fn, topic, msg.get("payload"), msg.get("ts"))
        elif kind == "tool_call":
            entry = self._tools.get(msg.get("tool"))
            try:
                if entry is None:
                    raise KeyError("no tool %r" % msg.get("tool"))
                result = entry[2](msg.get("args") or {})
                self._send({"type": "tool_result", "id": msg.get("id"), "ok": True, "result": result})
            except Exception as e:  # the error is the answer
                self._send({"type": "tool_result", "id": msg.get("id"), "ok": False, "error": str(e)})
        elif kind == "sync":
            # Every earlier line has been handled (one at a time, in order): say so.
            self._send({"type": "synced", "id": msg.get("id")})
        elif kind == "shutdown":
            self._running = False

    def _guard(self, fn, *args):
        try:
            fn(*args)
        except Exception:
            self.log("error", traceback.format_exc(limit=5))

    def _run_timers(self):
        now = time.monotonic()
        for timer in self._timers:
            if now >= timer[1]:
                timer[1] = now + timer[0]
                self._guard(timer[2])

    def _lines(self):
        """Messages from stdin; None when a timer is due. Ends at EOF."""
        sel = selectors.DefaultSelector()
        fd = sys.stdin.fileno()
        sel.register(fd, selectors.EVENT_READ)
        buf = b""
        while True:
            due = min((t[1] for t in self._timers), default=None)
            timeout = None if due is None else max(0.0, due - time.monotonic())
            if not sel.select(timeout):
                yield None
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue
            if self._timers:
                yield None

    def _send(self, msg):
        self._out.write(json.dumps(msg, separators=(",", ":")) + "\n")
        self._out.flush()


def _matches(pattern, topic):
    p = pattern.split("/")
    t = topic.split("/")
    for i, level in enumerate(p):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(p) == len(t)
