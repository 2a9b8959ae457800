// The webhook receiver of the refusal scenario (refusal-webhooks.mjs), in a process of its own:
// a real receiver runs elsewhere, and one inside the load generator would hold the generator's
// event loop while it answers, which the generator would then measure as the proxy's latency.
// Answers every POST with 204 and counts them; `{type: 'count'}` over IPC asks how many so far.
import { createServer } from 'node:http';

let received = 0;
// Node's default keep-alive (5 s): the proxy's connections to it close between bursts, as they
// would between the bursts of real use, so each burst pays for connecting.
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }));
process.on('message', (msg) => {
  if (msg.type === 'count') process.send({ type: 'count', received });
  else if (msg.type === 'stop') server.close(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
