// A resumable upload with the stock tus client (npm `tus-js-client`, Node): a 3 MB file in
// 512 KiB chunks to a record's file field, stopped after the first chunks and started again
// (the client asks where to resume with HEAD), then read back through the unmodified
// PocketBase JS SDK. EdgeBase only: PocketBase has no resumable uploads. Exits non-zero on
// the first thing that does not behave. Environment: EDGEBASE_URL, SUPERUSER_EMAIL,
// SUPERUSER_PASSWORD.
import crypto from "node:crypto";
import PocketBase from "pocketbase";
import * as tus from "tus-js-client";
import { check, environment } from "./common.mjs";

const { url, superEmail, superPassword } = environment();

const CHUNK = 512 * 1024;

async function main() {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  await pb.collection("_superusers").authWithPassword(superEmail, superPassword);
  await pb.collections.create({
    name: "videos",
    type: "base",
    listRule: "",
    viewRule: "",
    fields: [
      { name: "title", type: "text" },
      { name: "clips", type: "file", maxSelect: 2, maxSize: 10000000 },
    ],
  });
  const record = await pb.collection("videos").create({ title: "holiday" });
  const content = crypto.randomBytes(3 * 1024 * 1024 + 123);

  let storedName = "";
  let stopped = false;
  const finished = new Promise((resolve, reject) => {
    const upload = new tus.Upload(content, {
      endpoint: `${url}/api/tus/videos/${record.id}/clips`,
      chunkSize: CHUNK,
      retryDelays: null,
      headers: { Authorization: pb.authStore.token },
      metadata: { filename: "Clip One.bin" },
      onAfterResponse(_request, response) {
        const name = response.getHeader("X-Edgebase-File");
        if (name) storedName = name;
      },
      onChunkComplete(_size, sent) {
        // Stop after two chunks, as a client that lost its connection, and start again.
        if (!stopped && sent >= 2 * CHUNK) {
          stopped = true;
          upload.abort().then(() => {
            console.log(`ok - stopped at ${sent} bytes`);
            upload.start();
          });
        }
      },
      onError: reject,
      onSuccess: resolve,
    });
    upload.start();
  });
  await finished;
  check(stopped, "the upload was stopped and resumed");
  check(/^clip_one_[a-z0-9]{10}\.bin$/.test(storedName), `the stored name ${storedName}`);

  const read = await pb.collection("videos").getOne(record.id);
  check(read.clips.length === 1 && read.clips[0] === storedName, "the record names the file");
  const fetched = await fetch(pb.files.getURL(read, storedName));
  const bytes = Buffer.from(await fetched.arrayBuffer());
  check(fetched.status === 200 && bytes.equals(content), "getURL serves the uploaded bytes");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
