// The unmodified JS SDK's realtime behind a load balancer (EDGEBASE_URL is the balancer)
// when the node holding its stream is killed: the SDK reconnects, lands on another node,
// subscribes again by itself, and receives the events of later writes. The test's harness
// kills the node when this script writes CONTROL_DIR/ready, and writes CONTROL_DIR/killed
// once it has. Environment: EDGEBASE_URL, CONTROL_DIR, SUPERUSER_EMAIL, SUPERUSER_PASSWORD.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import PocketBase from "pocketbase";
import { check, environment } from "./common.mjs";

const { url, superEmail, superPassword } = environment();
const control = process.env.CONTROL_DIR;
const WAIT_MS = 60000;

async function waitFor(what, probe) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/// A write that may meet the election after the kill: retried until it is answered.
async function createWithRetry(admin, data) {
  let last;
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    try {
      return await admin.collection("rt_failover").create(data);
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw last;
}

async function main() {
  const admin = new PocketBase(url);
  admin.autoCancellation(false);
  await admin.collection("_superusers").authWithPassword(superEmail, superPassword);
  await admin.collections.create({ name: "rt_failover", type: "base", listRule: "", viewRule: "", fields: [{ name: "n", type: "number" }] });

  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  const events = [];
  const connects = [];
  await pb.realtime.subscribe("PB_CONNECT", (e) => connects.push(e.clientId));
  await pb.collection("rt_failover").subscribe("*", (e) => events.push(e));
  await createWithRetry(admin, { n: 1 });
  await waitFor("the first event", () => events.length >= 1);
  check(events[0].record.n === 1, "an event before the kill");
  const firstClient = pb.realtime.clientId;

  writeFileSync(join(control, "ready"), firstClient);
  await waitFor("the harness to kill the stream's node", () => existsSync(join(control, "killed")));
  await waitFor("the SDK to reconnect", () => pb.realtime.isConnected && pb.realtime.clientId !== firstClient);
  check(pb.realtime.clientId.split("_")[0] !== firstClient.split("_")[0], `the new stream is at another node (${pb.realtime.clientId})`);

  await createWithRetry(admin, { n: 2 });
  await waitFor("the event after the reconnect", () => events.some((e) => e.record.n === 2));
  check(events.filter((e) => e.record.n === 2).length === 1, "the event after the reconnect came once");
  pb.realtime.unsubscribe();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
