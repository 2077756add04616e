/**
 * Every error edgeloom raises on purpose has a stable code, declared once in ERRORS below with what
 * it means and where it is raised (as fastify declares its errors in lib/errors.js and MQTT.js its
 * reason codes in tables), so that logs, metrics, tests and the MQTT `cmd/result` topic can match on
 * the code instead of on message text. `EdgeloomError`'s code is typed by the table and code refers
 * to a code through `ErrorCode` (`ErrorCode.E_USAGE`), never as a string: a code that is not in the
 * table does not compile. The README's "Error codes" section is this table;
 * test/unit/error-codes.test.ts keeps the README, `raisedIn` and the sources in step.
 */

interface ErrorSpec {
  /** What happened, in one sentence (the README's table shows it). */
  readonly meaning: string;
  /** The modules that raise it, as paths under daemon/. */
  readonly raisedIn: readonly string[];
}

// biome-ignore format: a table, one row per code
export const ERRORS = {
  // Command line, configuration and lifecycle
  E_USAGE: { meaning: 'The command line is wrong: an unknown command or option, a missing or malformed argument (exit status 2).', raisedIn: ['cli/args.ts', 'cli/cmd-audit.ts', 'cli/cmd-fixture.ts', 'cli/cmd-listen.ts', 'cli/cmd-mcp.ts', 'cli/cmd-models.ts', 'cli/cmd-privacy.ts', 'cli/cmd-record.ts', 'cli/cmd-replay.ts', 'cli/cmd-run.ts', 'cli/cmd-sensor.ts'] },
  E_CONFIG_NOT_FOUND: { meaning: 'The configuration file cannot be read.', raisedIn: ['config/load.ts'] },
  E_CONFIG_INVALID: { meaning: 'The configuration does not validate; each problem names its key and where it was set (file and line, or environment variable).', raisedIn: ['actions/outbox.ts', 'config/problems.ts'] },
  E_CONFIG: { meaning: 'A component was handed an option out of its range (a check in code behind the schema, e.g. a detector input size).', raisedIn: ['observe/memory-guard.ts', 'pipeline/face/face-api.ts', 'pipeline/face/yunet.ts', 'pipeline/stt/reference-transcriber.ts', 'pipeline/stt/stt-stage.ts', 'pipeline/stt/whisper/encoder-window.ts', 'pipeline/wake/wake-stage.ts', 'agents/skills/clock-tool.ts', 'agents/skills/skills.ts'] },
  E_START: { meaning: 'Start-up of `edgeloom run` failed; the message carries the cause.', raisedIn: ['cli/cmd-run.ts'] },
  E_START_ABORTED: { meaning: 'A shutdown was requested while the daemon was still starting.', raisedIn: ['cli/cmd-run.ts', 'controller.ts'] },
  E_ABORTED: { meaning: 'A start or a command-line operation was cancelled (a shutdown during start-up, Ctrl-C).', raisedIn: ['cli/cmd-models.ts', 'pipeline/face/face-stage.ts', 'pipeline/stt/stt-stage.ts', 'pipeline/vad/vad-stage.ts', 'pipeline/wake/wake-stage.ts', 'router/router.ts'] },
  E_STOP_TIMEOUT: { meaning: 'A component did not stop within its bound; the daemon exits anyway.', raisedIn: ['controller.ts'] },
  E_COMPONENT_START: { meaning: 'A component failed to start with an error that carries no code.', raisedIn: ['controller.ts'] },
  E_COMPONENT_FAILED: { meaning: 'The code of a `component_failed` lifecycle event whose error carried none.', raisedIn: ['bus/lifecycle.ts'] },
  E_CONTROLLER_DUPLICATE: { meaning: 'Two components with the same name were added to the controller.', raisedIn: ['controller.ts'] },
  E_CONTROLLER_STATE: { meaning: 'A component was added to the controller after start.', raisedIn: ['controller.ts'] },
  // The bus
  E_BUS_INVALID_TOPIC: { meaning: 'A publish to a topic that breaks the topic rules (empty level, wildcard, too long).', raisedIn: ['bus/topic-match.ts'] },
  E_BUS_INVALID_PATTERN: { meaning: 'A subscription pattern that breaks the MQTT wildcard rules.', raisedIn: ['bus/topic-match.ts'] },
  E_BUS_INVALID_OPTIONS: { meaning: 'A subscription option out of range (queue capacity, concurrency, overflow policy).', raisedIn: ['bus/subscribe-options.ts'] },
  E_BUS_INVALID_PRIORITY: { meaning: 'A publish with a priority outside 0..3.', raisedIn: ['bus/bus-envelope.ts'] },
  E_BUS_BACKPRESSURE: { meaning: 'Refused instead of buffered: a full subscriber with too many publishes already parked, or too many requests awaiting an answer.', raisedIn: ['bus/bus.ts', 'bus/requests.ts'] },
  E_BUS_CLOSED: { meaning: 'A publish, subscription or request on a closed bus.', raisedIn: ['bus/bus.ts'] },
  E_BUS_DRAIN_TIMEOUT: { meaning: 'The bus did not drain within the deadline given.', raisedIn: ['bus/bus.ts'] },
  E_BUS_HANDLER_FAILED: { meaning: 'A subscriber threw an error without a code (published on `system/error`).', raisedIn: ['bus/bus.ts'] },
  E_BUS_INTERRUPTED: { meaning: 'A critical event aborted a running interruptible handler (the reason of its AbortSignal).', raisedIn: ['bus/subscription.ts'] },
  E_BUS_TIMEOUT: { meaning: 'A request got no answer in time.', raisedIn: ['bus/requests.ts'] },
  E_BUS_ABORTED: { meaning: 'A request was cancelled by its caller before an answer came.', raisedIn: ['bus/requests.ts'] },
  E_BUS_RESPONDER_FAILED: { meaning: 'The responder of a request threw an error without a code.', raisedIn: ['bus/requests.ts'] },
  // Storage
  E_STORAGE_LOCKED: { meaning: 'The storage directory is held by another process (is the daemon running?).', raisedIn: ['storage/store.ts'] },
  E_STORAGE_OPEN: { meaning: 'LevelDB cannot open the storage directory for a reason other than damage (permissions, a full disk).', raisedIn: ['storage/store.ts'] },
  E_STORE_OPEN_CORRUPT: { meaning: 'LevelDB cannot open the store because it is damaged (CURRENT, MANIFEST); it is quarantined.', raisedIn: ['storage/quarantine.ts'] },
  E_STORE_CORRUPT: { meaning: 'The start-up read of the store found damage (a table block that fails its checksum or does not read back, a value that is not JSON); it is quarantined.', raisedIn: ['storage/check.ts'] },
  E_STORE_QUARANTINE: { meaning: 'A damaged store could not be moved aside.', raisedIn: ['storage/quarantine.ts'] },
  E_AGENT_LOG_GAP: { meaning: 'An agent\'s event log misses an event after its latest snapshot; at start the store is quarantined.', raisedIn: ['storage/check.ts', 'storage/event-log.ts'] },
  // Recordings
  E_FIXTURE_MISSING: { meaning: 'The fixture directory or its fixture.json cannot be read.', raisedIn: ['recording/reader.ts'] },
  E_FIXTURE_MANIFEST: { meaning: 'fixture.json is not valid (a missing or mistyped field, an unknown version).', raisedIn: ['recording/format.ts', 'recording/reader.ts'] },
  E_FIXTURE_CORRUPT: { meaning: 'Damage in the middle of a fixture file, when opened strictly.', raisedIn: ['recording/reader.ts'] },
  E_FIXTURE_WAV: { meaning: 'A WAV file that is not the 16-bit PCM a fixture holds, or whose header is broken.', raisedIn: ['media/wav.ts', 'recording/reader.ts'] },
  E_FIXTURE_WRITE: { meaning: 'A fixture cannot be created or written.', raisedIn: ['recording/writer.ts'] },
  E_FIXTURE_ARG: { meaning: 'A fixture reader was called with an invalid argument (a frame size).', raisedIn: ['recording/reader.ts'] },
  E_FIXTURE_MAKE: { meaning: '`fixture make` cannot build a fixture from its inputs.', raisedIn: ['recording/make.ts'] },
  E_REPLAY_SPEED: {
    meaning: 'The replay speed is not a number >= 0 (> 0 for a clock following wall time).',
    raisedIn: ['replay/replay-source.ts', 'util/virtual-clock.ts'],
  },
  E_REPLAY_SETTLE: { meaning: 'At speed 0 the pipeline did not settle after a record (a stage keeps making work).', raisedIn: ['replay/replay-source.ts'] },
  // Sensors
  E_CAMERA_CONFIG: { meaning: 'The camera\'s capture command is empty.', raisedIn: ['sensors/camera/camera.ts'] },
  E_MIC_CONFIG: { meaning: 'The custom recorder command of the microphone is empty.', raisedIn: ['sensors/mic/mic.ts'] },
  E_IMU_CONFIG: { meaning: 'An IMU option is out of range (reconnect backoff, raw rate).', raisedIn: ['sensors/imu/imu.ts'] },
  E_IMU_FORMAT: { meaning: 'An unknown IMU wire format.', raisedIn: ['sensors/imu/parser.ts'] },
  // Models and inference
  E_MODEL_MANIFEST: { meaning: 'The model manifest is not valid.', raisedIn: ['models/manifest.ts', 'models/seed.ts'] },
  E_MODEL_SEED: { meaning: 'A bundled model cannot be copied into the models directory (missing or damaged after the copy).', raisedIn: ['models/seed.ts'] },
  E_MODEL_UNKNOWN: { meaning: 'A model id the manifest or the model manager does not know.', raisedIn: ['models/manager.ts', 'models/manifest.ts'] },
  E_MODEL_MISSING: { meaning: 'A model file is missing or unreadable (try `edgeloom models fetch`).', raisedIn: ['models/verify.ts', 'pipeline/onnx-session.ts', 'pipeline/stt/whisper/model-files.ts'] },
  E_MODEL_CORRUPT: { meaning: 'A model file cannot be loaded (ONNX Runtime, or a JSON file of the model).', raisedIn: ['pipeline/onnx-session.ts', 'pipeline/stt/whisper/model-files.ts', 'pipeline/stt/whisper/tokenizer.ts'] },
  E_MODEL_CHECKSUM: { meaning: 'A model file\'s size or sha256 differs from the manifest.', raisedIn: ['models/fetch.ts', 'models/verify.ts'] },
  E_MODEL_FETCH: { meaning: 'A model download failed (no URL, an HTTP error, an interrupted transfer).', raisedIn: ['models/fetch.ts'] },
  E_MODEL_TOO_LARGE: { meaning: 'A download is larger than the manifest says; it was stopped.', raisedIn: ['models/fetch.ts'] },
  E_MODEL_UNPINNED: { meaning: 'A model to fetch has no sha256 in the manifest.', raisedIn: ['models/fetch.ts'] },
  E_MODEL_BUDGET: { meaning: 'Loading the model would pass `budget.memory_mb` (or the budget is not positive).', raisedIn: ['models/manager.ts'] },
  E_MODEL_DUPLICATE: { meaning: 'A model id was registered twice with the model manager.', raisedIn: ['models/manager.ts'] },
  E_MODEL_STOPPED: { meaning: 'A model was asked for after the model manager stopped.', raisedIn: ['models/manager.ts'] },
  E_MODEL_FORMAT: { meaning: 'A manifest entry\'s format cannot fill the face role asked of it.', raisedIn: ['pipeline/face/factory.ts'] },
  E_MODEL_LAYOUT: { meaning: 'A Whisper model directory lacks a file.', raisedIn: ['pipeline/stt/whisper/whisper.ts'] },
  E_ONNX_INPUT: { meaning: 'A declared input is not in the model, or a run does not feed one.', raisedIn: ['pipeline/onnx-checks.ts'] },
  E_ONNX_OUTPUT: { meaning: 'An output is missing or has the wrong type or shape, or a fetch names no output.', raisedIn: ['pipeline/face/face-api.ts', 'pipeline/face/ferplus.ts', 'pipeline/face/yunet.ts', 'pipeline/onnx-checks.ts', 'pipeline/stt/whisper/decoder-steps.ts', 'pipeline/wake/oww-models.ts'] },
  E_ONNX_RUN: { meaning: 'ONNX Runtime failed a run.', raisedIn: ['pipeline/onnx-session.ts'] },
  E_ONNX_BUSY: { meaning: 'Too many runs wait on one model session; the newest is refused.', raisedIn: ['pipeline/onnx-session.ts'] },
  E_ONNX_RELEASED: { meaning: 'A run on a model session that was released.', raisedIn: ['pipeline/onnx-session.ts'] },
  E_IMAGE_DECODE: { meaning: 'A camera frame cannot be decoded, or declares more pixels than allowed.', raisedIn: ['pipeline/preprocess/decode.ts'] },
  E_VAD_FRAME: { meaning: 'An audio frame of the wrong length for Silero VAD.', raisedIn: ['pipeline/vad/silero-vad.ts', 'pipeline/vad/speech-segmenter.ts'] },
  E_VAD_BUSY: { meaning: 'Silero VAD was given a frame while the previous one still runs.', raisedIn: ['pipeline/vad/silero-vad.ts'] },
  E_VAD_OPTIONS: { meaning: 'A speech segmenter option is out of range.', raisedIn: ['pipeline/vad/speech-segmenter.ts'] },
  E_STT_SEGMENT: { meaning: 'The reference transcriber was called without the segment\'s times.', raisedIn: ['pipeline/stt/reference-transcriber.ts'] },
  E_TOKENIZER: { meaning: 'The Whisper tokenizer has no token for a piece of text.', raisedIn: ['pipeline/stt/whisper/tokenizer.ts'] },
  E_WHISPER_WINDOW: { meaning: '`pipeline.stt.encoder_window_s` is below 30 but the Whisper encoder runs only a 3000-frame (30 s) input: a fixed time axis, or the whole position table added.', raisedIn: ['pipeline/stt/whisper/encoder-window.ts'] },
  // Router, cloud and privacy
  E_CLOUD_TIMEOUT: { meaning: 'A cloud call did not finish within its budget (or an attempt within its timeout).', raisedIn: ['router/cloud-client.ts'] },
  E_CLOUD_ABORTED: { meaning: 'A cloud call was cancelled (an interrupt, or the router stopping).', raisedIn: ['router/cloud-client.ts', 'router/gateway.ts'] },
  E_CLOUD_BREAKER_OPEN: { meaning: 'The cloud\'s circuit breaker is open: calls are paused.', raisedIn: ['router/cloud-client.ts'] },
  E_CLOUD_HTTP: { meaning: 'The cloud answered with an HTTP error status.', raisedIn: ['router/cloud-client.ts'] },
  E_CLOUD_RATE_LIMITED: { meaning: 'The cloud answered 429 (rate limited); retried when its Retry-After fits the budget.', raisedIn: ['router/cloud-client.ts'] },
  E_CLOUD_NETWORK: { meaning: 'The cloud could not be reached (DNS, connection, TLS).', raisedIn: ['router/cloud-client.ts'] },
  E_CLOUD_BAD_RESPONSE: { meaning: 'The cloud\'s answer is too large, not JSON, or lacks what was asked for.', raisedIn: ['router/cloud-api.ts', 'router/cloud-client.ts', 'router/cloud-sse.ts', 'router/face-refine.ts'] },
  E_UNKNOWN: { meaning: 'A cloud call failed with an error that carries no code.', raisedIn: ['router/decisions.ts'] },
  E_PRIVACY_VIOLATION: { meaning: 'The egress guard refused data the privacy tier does not let leave.', raisedIn: ['router/egress-shape.ts', 'router/egress.ts'] },
  E_PRIVACY_TIER: { meaning: 'An unknown privacy tier.', raisedIn: ['privacy/privacy-control.ts', 'router/privacy.ts'] },
  E_PRIVACY_SCOPE: { meaning: 'An unknown scope for a privacy change.', raisedIn: ['router/privacy.ts'] },
  E_PRIVACY_FULL: { meaning: 'A new topic override past the bound on privacy overrides.', raisedIn: ['router/privacy.ts'] },
  E_PRIVACY_PERSIST: { meaning: 'A privacy change could not be saved; it is not applied.', raisedIn: ['privacy/privacy-control.ts'] },
  // Agents and tools
  E_AGENT_EXISTS: { meaning: 'An agent with that id exists already.', raisedIn: ['agents/runtime.ts'] },
  E_AGENT_UNKNOWN: { meaning: 'No agent with that id.', raisedIn: ['agents/runtime.ts'] },
  E_AGENT_DELETED: { meaning: 'A deleted agent was started.', raisedIn: ['agents/agent.ts'] },
  E_AGENT_STOPPED: { meaning: 'The agent stopped: the reason its running actions were aborted with.', raisedIn: ['agents/agent.ts'] },
  E_AGENT_INTERRUPTED: { meaning: 'A speech start, a stop word or `forget` interrupted the agent\'s running actions.', raisedIn: ['agents/agent.ts'] },
  E_INTENT_TEMPLATE: { meaning: 'A voice intent template in the configuration does not parse.', raisedIn: ['agents/intents.ts'] },
  E_TOOL_INVALID: { meaning: 'A tool was registered with an invalid or duplicate name, or a bad parameter schema.', raisedIn: ['agents/tools.ts'] },
  E_TOOL_UNKNOWN: { meaning: 'No tool with that name.', raisedIn: ['agents/cloud-tools.ts', 'agents/tools.ts', 'mcp/mcp-server.ts'] },
  E_TOOL_INVALID_ARGS: { meaning: 'A tool call\'s arguments fail the tool\'s schema.', raisedIn: ['agents/tools.ts'] },
  E_TOOL_TIMEOUT: { meaning: 'A tool call took longer than its time limit.', raisedIn: ['agents/tools.ts'] },
  E_TOOL_ABORTED: { meaning: 'A tool call was cancelled.', raisedIn: ['agents/tools.ts', 'agents/voice-conversation.ts'] },
  E_TOOL_FAILED: { meaning: 'A tool failed with an error that carries no code.', raisedIn: ['agents/cloud-tools.ts', 'agents/tools.ts', 'mcp/mcp-server.ts'] },
  E_TOOL_REFUSED: { meaning: 'A tool refused its call (e.g. `mqtt.publish` to a topic outside `mqtt.publish_allow`).', raisedIn: ['agents/builtin-tools.ts', 'agents/voice-tools.ts', 'agents/skills/device-states.ts'] },
  E_TOOL_UNAVAILABLE: { meaning: 'A tool needs a program that is not installed (the `speak` command).', raisedIn: ['agents/builtin-tools.ts'] },
  E_SKILL_SOURCE: { meaning: 'A voice skill\'s data source failed: the weather URL did not answer in time or with JSON, or a topic\'s message holds no value at the configured field; the skill says so aloud.', raisedIn: ['agents/skills/device-states.ts', 'agents/skills/weather-tool.ts'] },
  // Speech output (actions/tts.ts)
  E_TTS_UNAVAILABLE: { meaning: 'The TTS program (or its player) cannot be run: not installed or not executable (`agents.voice.tts.command`); the utterance is counted failed and the daemon goes on.', raisedIn: ['actions/tts-process.ts', 'actions/tts.ts'] },
  E_TTS_FAILED: { meaning: 'The TTS program or its player exited with an error, or an utterance ran past `max_utterance_ms`; counted failed.', raisedIn: ['actions/tts-process.ts', 'actions/tts.ts'] },
  // Plugins
  E_PLUGIN_START: { meaning: 'A plugin sent no `hello` within `hello_timeout_ms`; the daemon starts without it and keeps trying.', raisedIn: ['plugins/plugin-host.ts'] },
  E_PLUGIN_EXITED: { meaning: 'A plugin\'s process ended (or could not be started); it is restarted after a backoff.', raisedIn: ['plugins/plugin-process.ts'] },
  E_PLUGIN_PROTOCOL: { meaning: 'A plugin wrote a line that is not a protocol message, or declared topics it may not have.', raisedIn: ['plugins/plugin-host.ts'] },
  E_PLUGIN_PUBLISH: { meaning: 'A plugin published outside its declared `plugin/<id>/…` topics; refused and counted.', raisedIn: ['plugins/plugin-host.ts'] },
  E_PLUGIN_TOOL_FAILED: { meaning: 'A plugin answered a tool call with an error.', raisedIn: ['plugins/plugin-tools.ts'] },
  E_PLUGIN_UNAVAILABLE: { meaning: 'A plugin tool was called while the plugin is not running, does not offer it now, or has too many calls pending.', raisedIn: ['plugins/plugin-tools.ts'] },
  // MCP
  E_MCP_SERVER_START: { meaning: 'An MCP tool server did not answer `initialize` and `tools/list` within `start_timeout_ms`; the daemon starts without its tools and keeps trying.', raisedIn: ['mcp/tool-server.ts'] },
  E_MCP_SERVER_EXITED: { meaning: 'An MCP tool server\'s connection closed (its process ended); it is restarted after a backoff.', raisedIn: ['mcp/tool-server.ts'] },
  E_MCP_TOOL_FAILED: { meaning: 'An MCP tool answered its call with an error.', raisedIn: ['mcp/tool-server.ts'] },
  E_MCP_UNAVAILABLE: { meaning: 'An MCP tool was called while its server is not connected or does not offer it now.', raisedIn: ['mcp/tool-server.ts'] },
  E_MCP_REFUSED: { meaning: 'An MCP client was refused: `mcp.serve` is off, or `mcp`\'s sessions are all taken.', raisedIn: ['mcp/mcp-service.ts'] },
  E_MCP_NO_DAEMON: { meaning: '`edgeloom mcp` found no running daemon on its control socket.', raisedIn: ['cli/cmd-mcp.ts'] },
  E_CLOUD_TOOL_NOT_ALLOWED: { meaning: 'The cloud asked for a tool outside `agents.voice.cloud_tools.allow`.', raisedIn: ['agents/cloud-tools.ts'] },
  E_CLOUD_TOOL_DUPLICATE: { meaning: 'The cloud asked for the same tool call twice in one answer.', raisedIn: ['agents/cloud-tools.ts'] },
  E_CLOUD_TOOL_RETAIN: { meaning: 'The cloud asked to publish a retained MQTT message.', raisedIn: ['agents/cloud-tools.ts'] },
  E_CLOUD_TOOL_TOPIC: { meaning: 'The cloud asked to publish to a topic its policy does not allow.', raisedIn: ['agents/cloud-tools.ts'] },
  E_CLOUD_TOOL_RATE: { meaning: 'The cloud\'s tool calls passed the per-utterance or per-minute bound.', raisedIn: ['agents/cloud-tools.ts'] },
  E_AUDIT: { meaning: 'A cloud tool call was refused because its audit record could not be written.', raisedIn: ['agents/cloud-tools.ts'] },
  // Commands, MQTT and the control socket
  E_CMD_UNKNOWN: { meaning: 'An unknown command topic.', raisedIn: ['actions/commands.ts'] },
  E_CMD_BAD_JSON: { meaning: 'A command payload that is not JSON.', raisedIn: ['actions/commands.ts'] },
  E_CMD_INVALID: { meaning: 'A command payload that fails the command\'s schema or limits.', raisedIn: ['actions/commands.ts', 'sensors/pauses.ts'] },
  E_CMD_TOO_LARGE: { meaning: 'A command payload over 64 KiB.', raisedIn: ['actions/commands.ts'] },
  E_CMD_AUTH: { meaning: 'A command that needs proof of its sender (a signed payload, or the local CLI) lacks it, or its signature is bad.', raisedIn: ['actions/command-auth.ts', 'privacy/forget.ts', 'privacy/privacy-control.ts', 'sensors/pauses.ts'] },
  E_CMD_SAFETY: { meaning: 'A pause of a sensor that feeds fall detection without `"safety_override": true`.', raisedIn: ['sensors/pauses.ts'] },
  E_CMD_UNKNOWN_SENSOR: { meaning: 'A command names a sensor the daemon does not have.', raisedIn: ['actions/command-rpc.ts'] },
  E_CMD_NO_RESPONDER: { meaning: 'Nothing in the daemon serves the command (that part is not running).', raisedIn: ['actions/command-rpc.ts', 'cli/cmd-listen.ts'] },
  E_CMD_TIMEOUT: { meaning: 'A command got no answer in time.', raisedIn: ['actions/commands.ts'] },
  E_CMD_BUSY: {
    meaning: 'Too many commands wait for an answer, or a restart came sooner than `control.restart_min_uptime_s` after the start.',
    raisedIn: ['actions/commands.ts', 'systemd/restart.ts'],
  },
  E_CMD_FAILED: { meaning: 'A command failed with an error that carries no code.', raisedIn: ['actions/commands.ts'] },
  E_MQTT_NOT_STARTED: { meaning: 'A publish to the MQTT sink before its start or after its stop.', raisedIn: ['actions/mqtt-client.ts'] },
  E_MQTT_OUTBOX_FULL: { meaning: 'The outbox is full and its policy is `refuse`.', raisedIn: ['actions/outbox.ts'] },
  E_MQTT_OUTBOX_WRITE: { meaning: 'An outbox message could not be written to the store (a full disk); it is counted and dropped.', raisedIn: ['actions/outbox.ts', 'actions/outbox-writer.ts'] },
  E_MQTT_TLS_FILE: { meaning: 'A TLS file named in `mqtt.tls` cannot be read.', raisedIn: ['actions/mqtt-options.ts'] },
  E_MQTT_BROKER_LISTEN: { meaning: 'The embedded broker cannot listen on its address.', raisedIn: ['actions/embedded-broker.ts'] },
  E_MQTT_BROKER_CREDENTIALS: { meaning: 'The embedded broker\'s password file cannot be read or written.', raisedIn: ['actions/broker-credentials.ts'] },
  E_CONTROL_LISTEN: { meaning: 'The control socket cannot be served.', raisedIn: ['control/control-server.ts'] },
  E_CONTROL_CONNECT: { meaning: 'The command line cannot reach the daemon on its control socket.', raisedIn: ['cli/cmd-mcp.ts', 'control/control-client.ts'] },
  E_CONTROL_TIMEOUT: { meaning: 'The daemon did not answer on the control socket in time.', raisedIn: ['control/control-client.ts'] },
  E_CONTROL_BAD_ANSWER: { meaning: 'The daemon sent no valid answer on the control socket.', raisedIn: ['cli/cmd-mcp.ts', 'control/control-client.ts'] },
  E_CONTROL_BAD_REQUEST: { meaning: 'A control request that is not JSON, or whose arguments are out of bounds.', raisedIn: ['control/control-server.ts'] },
  E_CONTROL_NO_DAEMON: { meaning: 'A command that acts on the running daemon (`listen`, `sensor`) found none on its control socket.', raisedIn: ['cli/store-access.ts'] },
  E_CONTROL_TOO_LARGE: { meaning: 'A control request over its size bound.', raisedIn: ['control/control-server.ts'] },
  E_CONTROL_UNKNOWN: { meaning: 'An unknown control operation.', raisedIn: ['control/control-server.ts'] },
  E_CONTROL_FAILED: { meaning: 'A control operation failed with an error that carries no code.', raisedIn: ['control/control-server.ts'] },
  // On the device
  E_HTTP_LISTEN: { meaning: 'The HTTP server cannot listen on its address.', raisedIn: ['observe/http/server.ts'] },
  E_HTTP_TOKEN_REQUIRED: { meaning: 'The HTTP server would listen beyond loopback without `http.token`.', raisedIn: ['observe/http/server.ts'] },
  E_HTTP_STATE: { meaning: 'The HTTP server was asked for its address while not listening.', raisedIn: ['observe/http/server.ts'] },
  E_HTTP_STATIC: { meaning: 'The dashboard\'s static folder cannot be read.', raisedIn: ['observe/http/dashboard.ts'] },
  E_HTTP_EVENTS: { meaning: 'An event-stream request that cannot be served (e.g. an invalid topic pattern).', raisedIn: ['observe/http/server.ts'] },
  E_MEMORY_PRESSURE: { meaning: 'Memory use passed the soft or hard mark of `budget.memory_mb` (published on `system/error`).', raisedIn: ['observe/memory-guard.ts'] },
  E_SERVICE_UNIT: { meaning: 'The systemd unit to install lacks a line it needs.', raisedIn: ['cli/cmd-install-service.ts'] },
  E_SERVICE_ENABLE: { meaning: '`systemctl` failed while installing the service.', raisedIn: ['cli/cmd-install-service.ts'] },
} as const satisfies Readonly<Record<`E_${string}`, ErrorSpec>>;

/** A code of the table. */
export type ErrorCode = keyof typeof ERRORS;

/** True when `value` is a code of the table (a code read back from a socket or a file). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** Every code by name (`ErrorCode.E_USAGE === 'E_USAGE'`): how the code base refers to a code. */
export const ErrorCode = Object.freeze(
  Object.fromEntries(Object.keys(ERRORS).map((code) => [code, code])),
) as { readonly [C in ErrorCode]: C };

export class EdgeloomError extends Error {
  /** Stable, machine-readable identifier from ERRORS, e.g. `E_BUS_INVALID_TOPIC`. */
  readonly code: ErrorCode;
  /** Where it happened: a component name, a config key, a file path, a topic. */
  readonly where: string | undefined;

  constructor(code: ErrorCode, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EdgeloomError';
    this.code = code;
    this.where = options.where;
  }
}

/** True when `err` is an EdgeloomError carrying `code` (or any EdgeloomError when code is omitted). */
export function isEdgeloomError(err: unknown, code?: ErrorCode): err is EdgeloomError {
  return err instanceof EdgeloomError && (code === undefined || err.code === code);
}

/** Narrow anything thrown to an Error, without losing non-Error values. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
