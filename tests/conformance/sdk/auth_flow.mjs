// Drives an EdgeBase node with the unmodified PocketBase JS SDK: sign-up, login, refresh, a
// rule that keeps records to their owner, and a password change that revokes the old token.
// Exits non-zero with a message on the first thing that does not behave as with PocketBase.
// Environment: EDGEBASE_URL, SUPERUSER_EMAIL, SUPERUSER_PASSWORD.
import PocketBase from "pocketbase";
import { check, environment } from "./common.mjs";

const { url, superEmail, superPassword } = environment();

async function expectStatus(promise, status, message) {
  try {
    await promise;
  } catch (error) {
    check(error.status === status, `${message} (got ${error.status}: ${error.message})`);
    return;
  }
  check(false, `${message} (it succeeded)`);
}

async function main() {
  const admin = new PocketBase(url);
  admin.autoCancellation(false);
  await admin.collection("_superusers").authWithPassword(superEmail, superPassword);
  check(admin.authStore.isValid, "superuser login through the SDK");

  const users = await admin.collections.getOne("users");
  await admin.collections.create({
    name: "notes",
    type: "base",
    fields: [
      { name: "text", type: "text" },
      { name: "owner", type: "relation", collectionId: users.id, maxSelect: 1 },
    ],
    listRule: "owner = @request.auth.id",
    viewRule: "owner = @request.auth.id",
    createRule: "@request.auth.id != '' && owner = @request.auth.id",
    updateRule: "owner = @request.auth.id",
    deleteRule: "owner = @request.auth.id",
  });
  check(true, "collection with owner-only rules created");

  // Sign-up and login of two users, each with their own client.
  const alice = new PocketBase(url);
  alice.autoCancellation(false);
  const bob = new PocketBase(url);
  bob.autoCancellation(false);
  const password = "first-password-1";
  const created = await alice.collection("users").create({
    email: "alice@example.com",
    password,
    passwordConfirm: password,
    name: "Alice",
  });
  check(created.id && created.email === undefined, "sign-up returns the new record, its email hidden from a guest");
  await bob.collection("users").create({ email: "bob@example.com", password, passwordConfirm: password });
  await expectStatus(
    alice.collection("users").create({ email: "x@example.com", password, passwordConfirm: "other-password" }),
    400,
    "sign-up with a mismatched passwordConfirm is refused",
  );

  const auth = await alice.collection("users").authWithPassword("alice@example.com", password);
  check(alice.authStore.isValid && auth.record.id === created.id, "login returns a token and the record");
  await bob.collection("users").authWithPassword("bob@example.com", password);
  await expectStatus(
    new PocketBase(url).collection("users").authWithPassword("alice@example.com", "wrong-password"),
    400,
    "a wrong password is refused",
  );

  const firstToken = alice.authStore.token;
  const refreshed = await alice.collection("users").authRefresh();
  check(refreshed.token && refreshed.record.id === created.id, "auth-refresh returns a fresh token");

  // Owner-only records.
  const note = await alice.collection("notes").create({ text: "mine", owner: created.id });
  check(note.owner === created.id, "the owner creates a record");
  await expectStatus(
    bob.collection("notes").create({ text: "forged", owner: created.id }),
    400,
    "another user cannot create a record owned by someone else",
  );
  const aliceList = await alice.collection("notes").getList(1, 10);
  check(aliceList.totalItems === 1, "the owner lists their record");
  const bobList = await bob.collection("notes").getList(1, 10);
  check(bobList.totalItems === 0, "another user lists nothing");
  await expectStatus(bob.collection("notes").getOne(note.id), 404, "another user cannot view the record");
  await expectStatus(
    bob.collection("notes").update(note.id, { text: "changed" }),
    404,
    "another user cannot update the record",
  );
  const guestList = await new PocketBase(url).collection("notes").getList(1, 10);
  check(guestList.totalItems === 0, "a guest lists nothing");

  // A password change revokes tokens issued before it.
  const oldClient = new PocketBase(url);
  oldClient.autoCancellation(false);
  oldClient.authStore.save(firstToken, auth.record);
  const newPassword = "second-password-2";
  await alice.collection("users").update(created.id, {
    oldPassword: password,
    password: newPassword,
    passwordConfirm: newPassword,
  });
  check(true, "the owner changes their password with oldPassword");
  await expectStatus(oldClient.collection("users").authRefresh(), 401, "the old token no longer refreshes");
  const oldView = await oldClient.collection("notes").getList(1, 10);
  check(oldView.totalItems === 0, "the old token no longer reaches the owner's records");
  await alice.collection("users").authWithPassword("alice@example.com", newPassword);
  const afterChange = await alice.collection("notes").getList(1, 10);
  check(afterChange.totalItems === 1, "a login with the new password reaches them again");
  await expectStatus(
    new PocketBase(url).collection("users").authWithPassword("alice@example.com", password),
    400,
    "the old password no longer logs in",
  );
  console.log("all checks passed");
}

main().catch((error) => {
  console.error(error.stack || String(error));
  if (error.response) {
    console.error(JSON.stringify(error.response));
  }
  process.exit(1);
});
