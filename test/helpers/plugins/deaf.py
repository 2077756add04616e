"""Test plugin: subscribes to everything and never reads its stdin (a plugin stuck in a loop)."""
import json
import signal
import sys

sys.stdin.readline()  # init
print(json.dumps({"type": "hello", "name": "deaf", "version": "1", "subscribe": ["load/#"], "publish": [], "tools": []}), flush=True)
signal.pause()
