/**
 * A tiny MCP tool server for the tests, written with the official SDK (a real MCP server over
 * stdio, as any third-party one would be). Tools:
 * - `shout` {text}: the text in capitals, as text and as structured content, with an id of this
 *   process (so a test can tell a restarted server from the first: in bubblewrap's own PID
 *   namespace every start has the same pid);
 * - `getWeather` {city}: camelCase on purpose (the registry names it `get_weather`);
 * - `fail`: answers with isError;
 * - `exit`: ends the process (a crash, for the restart test).
 */
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const instance = randomUUID();
const server = new Server({ name: 'fixture', version: '1.0.0' }, { capabilities: { tools: {} } });

const text = (t) => ({
  type: 'object',
  properties: { [t]: { type: 'string', minLength: 1 } },
  required: [t],
});
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: [
    { name: 'shout', description: 'Say the text louder.', inputSchema: text('text') },
    { name: 'getWeather', description: 'The weather in a city.', inputSchema: text('city') },
    { name: 'fail', description: 'Always fails.', inputSchema: { type: 'object' } },
    { name: 'exit', description: 'Ends this server.', inputSchema: { type: 'object' } },
  ],
}));

server.setRequestHandler(CallToolRequestSchema, (req) => {
  const args = req.params.arguments ?? {};
  switch (req.params.name) {
    case 'shout': {
      const shouted = String(args.text).toUpperCase();
      return { content: [{ type: 'text', text: shouted }], structuredContent: { shouted, instance } };
    }
    case 'getWeather':
      return { content: [{ type: 'text', text: `sunny in ${args.city}` }] };
    case 'fail':
      return { isError: true, content: [{ type: 'text', text: 'the fixture always fails' }] };
    case 'exit':
      setImmediate(() => process.exit(3));
      return { content: [{ type: 'text', text: 'bye' }] };
    default:
      return { isError: true, content: [{ type: 'text', text: `no tool ${req.params.name}` }] };
  }
});

await server.connect(new StdioServerTransport());
