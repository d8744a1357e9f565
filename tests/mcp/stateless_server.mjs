// A small MCP server of pincer's own on @modelcontextprotocol/server 2.x, the TypeScript SDK of
// the stateless 2026-07-28 revision, serving that revision only (2025-era openings are
// refused), so the tests see pincer speak the modern era to a real implementation.
//
//   node stateless_server.mjs stdio
//   node stateless_server.mjs http PORT      # prints "listening on PORT" once ready
//
// MCP_NODE_MODULES names the node_modules folder of scripts/mcp-counterparts.
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const modules = process.env.MCP_NODE_MODULES;
if (!modules) {
  console.error('set MCP_NODE_MODULES to the counterparts node_modules folder');
  process.exit(2);
}
const require = createRequire(modules + '/');
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
const sdk = await load('@modelcontextprotocol/server');
const { z } = await load('zod');

function factory() {
  const server = new sdk.McpServer({ name: 'pincer-test-stateless', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: z.object({ a: z.number(), b: z.number() }) },
    async ({ a, b }) => ({ content: [{ type: 'text', text: `sum: ${a + b}` }] })
  );
  // Multi round-trip: asks the person to confirm (a form with a default), then answers.
  server.registerTool(
    'confirm',
    { description: 'Asks for confirmation, then does it', inputSchema: z.object({ action: z.string() }) },
    async ({ action }, ctx) => {
      const answer = sdk.inputResponse ? sdk.inputResponse(ctx.mcpReq.inputResponses, 'ok') : undefined;
      if (!answer || answer.kind === 'missing') {
        return sdk.inputRequired({
          inputRequests: {
            ok: sdk.inputRequired.elicit({
              message: `Really ${action}?`,
              requestedSchema: z.object({ sure: z.boolean().default(true) })
            })
          }
        });
      }
      if (answer.kind === 'elicit' && answer.action === 'accept') {
        return { content: [{ type: 'text', text: `done: ${action} (${JSON.stringify(answer.content)})` }] };
      }
      return { content: [{ type: 'text', text: `not done: ${answer.action ?? answer.kind}` }], isError: true };
    }
  );
  return server;
}

const mode = process.argv[2] ?? 'stdio';
if (mode === 'stdio') {
  const { serveStdio } = await load('@modelcontextprotocol/server/stdio');
  serveStdio(factory, { legacy: 'reject' });
} else if (mode === 'http') {
  const handler = sdk.createMcpHandler(factory, { legacy: 'reject' });
  const port = Number(process.argv[3] ?? 0);
  const http = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
      method: req.method,
      headers: req.headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body
    });
    const response = await handler.fetch(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) {
      for await (const chunk of response.body) res.write(chunk);
    }
    res.end();
  });
  http.listen(port, '127.0.0.1', () => console.log(`listening on ${http.address().port}`));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
