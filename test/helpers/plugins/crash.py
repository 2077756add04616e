"""Test plugin: says hello, then dies (exit status 3) — a plugin that crashes on its first event."""
import json
import sys

sys.stdin.readline()  # init
print(json.dumps({"type": "hello", "name": "crash", "version": "1", "subscribe": [], "publish": [], "tools": []}), flush=True)
sys.exit(3)
