// Realtime through the unmodified PocketBase JS SDK: `subscribe('*')` and to one record, with
// `filter`, `expand` and `fields` options; create, update and delete events; a user the rule
// does not admit receives nothing; a superuser sees hidden fields; `unsubscribe`. Beyond
// PocketBase (TARGET_KIND=edgebase only): a password change (a new tokenKey) revokes the
// stream's auth. Node's EventSource (run with --experimental-eventsource) carries the stream.
// Exits non-zero on the first thing that does not behave. Environment: EDGEBASE_URL,
// SUPERUSER_EMAIL, SUPERUSER_PASSWORD, TARGET_KIND.
import PocketBase from "pocketbase";
import { check, environment } from "./common.mjs";

const { url, superEmail, superPassword } = environment();
const isEdgeBase = process.env.TARGET_KIND === "edgebase";
const WAIT_MS = 10000;

/// Resolves once `probe()` is true; fails after WAIT_MS.
async function waitFor(what, probe) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function client() {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  return pb;
}

async function main() {
  const admin = client();
  await admin.collection("_superusers").authWithPassword(superEmail, superPassword);
  const users = await admin.collections.getOne("users");
  await admin.collections.create({
    name: "rt_notes",
    type: "base",
    listRule: "owner = @request.auth.id",
    viewRule: "owner = @request.auth.id",
    fields: [
      { name: "title", type: "text" },
      { name: "secret", type: "text", hidden: true },
      { name: "owner", type: "relation", collectionId: users.id, maxSelect: 1 },
    ],
  });
  // A collection anyone may read: its events mark that what came before has been sent.
  await admin.collections.create({ name: "rt_pings", type: "base", listRule: "", viewRule: "", fields: [{ name: "n", type: "number" }] });

  const people = {};
  for (const name of ["alice", "bob"]) {
    const pb = client();
    const email = `rt-${name}@example.com`;
    await pb.collection("users").create({ email, password: "password-123", passwordConfirm: "password-123", name });
    await pb.collection("users").authWithPassword(email, "password-123");
    people[name] = { pb, id: pb.authStore.record.id, events: [], filtered: [], picked: [], pings: [] };
  }
  const { alice, bob } = people;
  const adminEvents = [];

  const unsubscribeAll = await alice.pb.collection("rt_notes").subscribe("*", (e) => alice.events.push(e), { expand: "owner" });
  await alice.pb.collection("rt_notes").subscribe("*", (e) => alice.filtered.push(e), { filter: 'title ~ "keep"' });
  await alice.pb.collection("rt_pings").subscribe("*", (e) => alice.pings.push(e));
  await bob.pb.collection("rt_notes").subscribe("*", (e) => bob.events.push(e));
  await bob.pb.collection("rt_pings").subscribe("*", (e) => bob.pings.push(e));
  await admin.collection("rt_notes").subscribe("*", (e) => adminEvents.push(e));

  const note = await admin.collection("rt_notes").create({ title: "keep me", secret: "s1", owner: alice.id });
  await alice.pb.collection("rt_notes").subscribe(note.id, (e) => alice.picked.push(e), { fields: "id,title" });
  const other = await admin.collection("rt_notes").create({ title: "drop me", owner: alice.id });
  await admin.collection("rt_notes").update(note.id, { title: "keep me too" });
  await admin.collection("rt_notes").delete(other.id);
  await admin.collection("rt_pings").create({ n: 1 });

  await waitFor("alice's events", () => alice.events.length >= 4 && alice.pings.length >= 1);
  check(alice.events.map((e) => e.action).join(",") === "create,create,update,delete", `actions ${alice.events.map((e) => e.action)}`);
  const first = alice.events[0].record;
  check(first.id === note.id && first.title === "keep me", "the create carries the record");
  check(first.secret === undefined, "a hidden field is not shown to a user");
  check(first.expand?.owner?.id === alice.id, "expand applies to events");
  check(alice.events[3].record.id === other.id, "the delete carries the deleted record");
  await waitFor("the filtered subscription", () => alice.filtered.length >= 2);
  check(alice.filtered.map((e) => `${e.action}:${e.record.title}`).join(",") === "create:keep me,update:keep me too", `filter ${alice.filtered.map((e) => e.record.title)}`);
  await waitFor("the record subscription", () => alice.picked.length >= 1);
  check(alice.picked[0].action === "update" && Object.keys(alice.picked[0].record).sort().join(",") === "id,title", `fields ${JSON.stringify(alice.picked[0].record)}`);

  await waitFor("bob's ping", () => bob.pings.length >= 1);
  check(bob.events.length === 0, "a user the rule does not admit receives nothing");
  await waitFor("the superuser's events", () => adminEvents.length >= 4);
  check(adminEvents[0].record.secret === "s1", "a superuser sees hidden fields");

  await unsubscribeAll();
  await admin.collection("rt_notes").create({ title: "after unsubscribe", owner: alice.id });
  await admin.collection("rt_pings").create({ n: 2 });
  await waitFor("alice's second ping", () => alice.pings.length >= 2);
  check(alice.events.length === 4, "no events after unsubscribing from *");

  if (isEdgeBase) {
    // A password change gives the record a new tokenKey: the stream's old token no longer counts.
    const before = alice.filtered.length;
    await admin.collection("users").update(alice.id, { password: "password-456", passwordConfirm: "password-456" });
    await admin.collection("rt_notes").create({ title: "keep after revoke", owner: alice.id });
    await admin.collection("rt_pings").create({ n: 3 });
    await waitFor("alice's third ping", () => alice.pings.length >= 3);
    check(alice.filtered.length === before, "a revoked token loses its realtime auth");
  }
  alice.pb.realtime.unsubscribe();
  bob.pb.realtime.unsubscribe();
  admin.realtime.unsubscribe();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
