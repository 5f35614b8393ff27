// Files through the unmodified PocketBase JS SDK: FormData with Blobs on create, a plain
// object with a File on update (the SDK turns it into multipart), `files+`/`files-`,
// pb.files.getURL (with `thumb` and `download`), fetching what it points at, and a protected
// file through pb.files.getToken(). Exits non-zero on the first thing that does not behave as
// with PocketBase. Environment: EDGEBASE_URL, SUPERUSER_EMAIL, SUPERUSER_PASSWORD.
import PocketBase from "pocketbase";
import { check, environment } from "./common.mjs";

const { url, superEmail, superPassword } = environment();

async function text(response) {
  return Buffer.from(await response.arrayBuffer()).toString("utf8");
}

async function main() {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  await pb.collection("_superusers").authWithPassword(superEmail, superPassword);

  await pb.collections.create({
    name: "albums",
    type: "base",
    listRule: "",
    // Protected files open only for a token whose record this rule admits.
    viewRule: "@request.auth.id != ''",
    createRule: "",
    updateRule: "",
    fields: [
      { name: "title", type: "text" },
      { name: "photos", type: "file", maxSelect: 5, maxSize: 1000000, thumbs: ["50x50"] },
      { name: "secret", type: "file", protected: true },
    ],
  });

  const form = new FormData();
  form.append("title", "trip");
  form.append("photos", new Blob(["first photo bytes"], { type: "text/plain" }), "first.txt");
  form.append("photos", new Blob(["second photo bytes"], { type: "text/plain" }), "second.txt");
  const created = await pb.collection("albums").create(form);
  check(created.photos.length === 2, "FormData with two Blobs makes two files");
  check(/^first_[a-z0-9]{10}\.txt$/.test(created.photos[0]), `stored name ${created.photos[0]}`);

  const first = pb.files.getURL(created, created.photos[0]);
  check(first.endsWith(`/api/files/${created.collectionId}/${created.id}/${created.photos[0]}`), `getURL shape ${first}`);
  const fetched = await fetch(first);
  check(fetched.status === 200 && (await text(fetched)) === "first photo bytes", "the URL serves the file");
  const thumbUrl = pb.files.getURL(created, created.photos[0], { thumb: "50x50" });
  check(thumbUrl.includes("thumb=50x50"), "getURL carries thumb");
  const thumb = await fetch(thumbUrl);
  check(thumb.status === 200 && (await text(thumb)) === "first photo bytes", "a thumb of a non-image is the original");
  const attachment = await fetch(pb.files.getURL(created, created.photos[1], { download: true }));
  check((attachment.headers.get("content-disposition") || "").startsWith("attachment"), "download: true makes an attachment");

  const added = await pb.collection("albums").update(created.id, {
    "photos+": new File(["third photo"], "third.txt", { type: "text/plain" }),
  });
  check(added.photos.length === 3, "an object with a File appends through `photos+`");
  const removed = await pb.collection("albums").update(created.id, { "photos-": [created.photos[0]] });
  check(removed.photos.length === 2 && !removed.photos.includes(created.photos[0]), "`photos-` removes by name");
  const gone = await fetch(first);
  check(gone.status === 404, "a removed file is not served");

  const withSecret = await pb.collection("albums").update(created.id, {
    secret: new File(["hidden"], "secret.txt", { type: "text/plain" }),
  });
  const secretUrl = pb.files.getURL(withSecret, withSecret.secret);
  const denied = await fetch(secretUrl);
  check(denied.status === 404, "a protected file needs a token");
  const token = await pb.files.getToken();
  check(typeof token === "string" && token.length > 20, "getToken gives a token");
  const opened = await fetch(pb.files.getURL(withSecret, withSecret.secret, { token }));
  check(opened.status === 200 && (await text(opened)) === "hidden", "the token opens the protected file");

  try {
    await pb.collection("albums").create({ photos: new File(["x".repeat(1000001)], "big.txt") });
    check(false, "an oversized file is refused");
  } catch (error) {
    check(error.status === 400 && error.response.data.photos.code === "validation_file_size_limit", "an oversized file is refused with PocketBase's error");
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
