// What every SDK script shares: the target and superuser from the environment (exits 2 when
// unset), and `check`, which throws on the first thing that does not behave.

export function environment() {
  const url = process.env.EDGEBASE_URL;
  const superEmail = process.env.SUPERUSER_EMAIL;
  const superPassword = process.env.SUPERUSER_PASSWORD;
  if (!url || !superEmail || !superPassword) {
    console.error("set EDGEBASE_URL, SUPERUSER_EMAIL and SUPERUSER_PASSWORD");
    process.exit(2);
  }
  return { url, superEmail, superPassword };
}

export function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
  console.log(`ok - ${message}`);
}
