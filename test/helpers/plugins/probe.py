"""Test plugin: subscribes to what config.subscribe says and reports every event it receives on
plugin/<id>/seen (topic, line length, whether any base64 bytes came with it, the decoded bytes'
length); its tools try a TCP connection and a file write, for the sandbox tests."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python"))
from edgeloom_plugin import Plugin, decode_binary  # noqa: E402

plugin = Plugin("probe", "1.0.0")
plugin.publishes("seen")


def on_event(topic, payload, ts):
    blobs = [decode_binary(v) for v in payload.values() if isinstance(v, dict) and "$b64" in v]
    plugin.publish(
        "seen",
        {"topic": topic, "ts": ts, "b64": len(blobs) > 0, "bytes": sum(len(b) for b in blobs), "keys": sorted(payload)},
    )


@plugin.on_init
def init(config):
    for p in config.get("subscribe", ["#"]):
        plugin.subscribe(p)(on_event)
    if config.get("sensor"):
        plugin.publishes_sensor(config["sensor"])


@plugin.tool("reading", "Publish one reading of the sensor config.sensor names.", {"type": "object"})
def reading(args):
    plugin.publish_sensor(plugin.config.get("sensor", "none"), {"temperature_c": 21.5})
    return {"sent": True}


@plugin.tool("connect", "Open a TCP connection.", {"type": "object", "properties": {"port": {"type": "integer"}}, "required": ["port"]})
def connect(args):
    s = socket.create_connection(("127.0.0.1", args["port"]), timeout=5)
    s.sendall(b"hello from plugin\n")
    s.close()
    return {"connected": True}


@plugin.tool("write", "Write a file.", {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})
def write(args):
    path = args["path"].replace("$STATE", plugin.state_dir)
    with open(path, "w") as f:
        f.write("x")
    return {"written": path}


@plugin.tool("alloc", "Allocate memory.", {"type": "object", "properties": {"mb": {"type": "integer"}}, "required": ["mb"]})
def alloc(args):
    block = bytearray(args["mb"] * 1024 * 1024)
    return {"allocated_mb": len(block) // (1024 * 1024)}


plugin.run()
