// Drives agentkit's A2A server with the official JavaScript SDK (@a2a-js/sdk).
//
//   node client.mjs TEXT_URL STRUCTURED_URL
//
// A2A_JS_DIR is the folder where .ci/install-a2a-peers.sh installed the SDK;
// A2A_TOKEN, when set, is sent as a bearer token. Prints one JSON object with
// what each exchange returned; the Python test asserts on it. Exits non-zero
// with the error on stderr when anything throws.
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import path from "node:path";

const require = createRequire(path.join(process.env.A2A_JS_DIR, "package.json"));
const {
  ClientFactory,
  ClientFactoryOptions,
  JsonRpcTransportFactory,
  RestTransportFactory,
} = require("@a2a-js/sdk/client");

const [textUrl, structuredUrl] = process.argv.slice(2);
const token = process.env.A2A_TOKEN;

// The token rides on every request of the SDK through its own fetch hook.
const authFetch = (input, init = {}) => {
  const headers = new Headers(init.headers ?? {});
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

function factory(preferred) {
  return new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [
        new JsonRpcTransportFactory({ fetchImpl: authFetch }),
        new RestTransportFactory({ fetchImpl: authFetch }),
      ],
      preferredTransports: [preferred],
    }),
  );
}

const userMessage = (text, contextId = "") => ({
  message: {
    messageId: randomUUID(),
    contextId,
    taskId: "",
    role: 1, // ROLE_USER
    parts: [{ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "" }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  },
  tenant: "",
  configuration: undefined,
  metadata: undefined,
});

const texts = (parts) => parts.filter((p) => p.content?.$case === "text").map((p) => p.content.value);
const data = (parts) => parts.filter((p) => p.content?.$case === "data").map((p) => p.content.value);

async function main() {
  const out = {};
  const client = await factory("JSONRPC").createFromUrl(textUrl);
  const card = await client.getAgentCard();
  out.card = { name: card.name, skills: card.skills.map((s) => s.id) };

  const sent = await client.sendMessage(userMessage("weather Oslo"));
  out.send = { state: sent.status.state, artifacts: sent.artifacts.map((a) => texts(a.parts)) };

  const got = await client.getTask({ tenant: "", id: sent.id, historyLength: undefined });
  out.get = { id: got.id === sent.id, state: got.status.state };

  const kinds = [];
  const states = [];
  let streamedText = [];
  for await (const event of client.sendMessageStream(userMessage("weather Rome"))) {
    kinds.push(event.payload.$case);
    if (event.payload.$case === "statusUpdate") states.push(event.payload.value.status.state);
    if (event.payload.$case === "artifactUpdate") {
      streamedText = streamedText.concat(texts(event.payload.value.artifact.parts));
    }
  }
  out.stream = { kinds, states, text: streamedText };

  const first = await client.sendMessage(userMessage("my name is Ada"));
  const again = await client.sendMessage(userMessage("recall", first.contextId));
  out.context = { same: again.contextId === first.contextId, text: texts(again.artifacts[0].parts) };

  // Cancel: start a run that hangs in a tool, cancel it once it is working.
  let canceled;
  let taskId;
  for await (const event of client.sendMessageStream(userMessage("hang"))) {
    if (event.payload.$case === "task") taskId = event.payload.value.id;
    if (event.payload.$case === "statusUpdate" && event.payload.value.metadata?.agentkit?.event === "tool_call") {
      canceled = await client.cancelTask({ tenant: "", id: taskId, metadata: undefined });
      break;
    }
  }
  const afterCancel = await client.getTask({ tenant: "", id: taskId, historyLength: undefined });
  out.cancel = { returned: canceled.status.state, stored: afterCancel.status.state };

  const rest = await factory("HTTP+JSON").createFromUrl(textUrl);
  const viaRest = await rest.sendMessage(userMessage("hi over rest"));
  out.rest = { state: viaRest.status.state, text: texts(viaRest.artifacts[0].parts) };

  const planner = await factory("JSONRPC").createFromUrl(structuredUrl);
  const planned = await planner.sendMessage(userMessage("Lisbon"));
  const byName = Object.fromEntries(planned.artifacts.map((a) => [a.name, a.parts]));
  out.structured = { state: planned.status.state, data: data(byName.output), text: texts(byName.response) };

  const broken = await planner.sendMessage(userMessage("break"));
  out.failed = { state: broken.status.state, message: texts(broken.status.message.parts) };

  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
