/**
 * ONNX Runtime's own telemetry, switched off before its library loads. Imported for its effect,
 * first, by onnx-session.ts (the only module that imports onnxruntime-node).
 *
 * Why: the Linux build of onnxruntime-node 1.30 ships Microsoft's 1DS telemetry client. Left on,
 * every process that creates a session writes a device ID and an event queue (a SQLite database,
 * 2.6 MB after a day of this project's tests: execution provider, runs since the last event, the
 * Node binary's path, the OS release) under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, leaves
 * an empty /tmp/mat-debug-<pid>.log behind, and uploads the queue to
 * mobile.events.data.microsoft.com when it can reach it. edgeloom sends nothing beyond its
 * configured broker, cloud endpoint and plugins' declared needs, so it is off whatever the
 * environment says: ORT reads ORT_DISABLE_TELEMETRY when it starts its telemetry system.
 */
process.env.ORT_DISABLE_TELEMETRY = '1';
