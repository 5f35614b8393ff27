// The OAuth2 popup login of the unmodified PocketBase JS SDK, `authWithOAuth2({provider})`:
// the SDK subscribes its realtime stream to `@oauth2`, hands the provider's URL (its client
// id as the state) to `urlCallback`, which plays the browser: it follows the provider's
// answer to `/api/oauth2-redirect` at REDIRECT_URL (another node than EDGEBASE_URL, as a
// load balancer may pick), and the SDK finishes the login with the code its stream got.
// For Apple (APPLE_PROVIDER set, EdgeBase only) the provider answers with a form that posts
// the code and the user's name back, and the new record gets that name.
// Environment: EDGEBASE_URL, REDIRECT_URL, OIDC_PROVIDER and APPLE_PROVIDER (JSON provider
// options), OIDC_EMAIL, APPLE_EMAIL, APPLE_NAME, SUPERUSER_EMAIL, SUPERUSER_PASSWORD.
import PocketBase from "pocketbase";
import { check, environment } from "./common.mjs";

const { url, superEmail, superPassword } = environment();
const redirectBase = process.env.REDIRECT_URL || url;

function client() {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  return pb;
}

/// `/api/oauth2-redirect` with this query, at the node the load balancer picked.
function atRedirectNode(redirectURL) {
  const target = new URL(redirectURL);
  return new URL(target.pathname + target.search, redirectBase).toString();
}

/// A finished redirect page: EdgeBase's line, or PocketBase's move to its dashboard's page.
function completed(answer, text) {
  if (answer.status === 200) return text.includes("Auth completed");
  return answer.status >= 300 && answer.status < 400 && (answer.headers.get("location") || "").includes("oauth2-redirect-success");
}

/// The browser side of a provider that redirects back with a GET.
async function followRedirect(providerURL) {
  const answer = await fetch(providerURL, { redirect: "manual" });
  check(answer.status >= 300 && answer.status < 400, `the provider redirects back (${answer.status})`);
  const page = await fetch(atRedirectNode(answer.headers.get("location")), { redirect: "manual" });
  check(completed(page, await page.text()), "the redirect page says the login completed");
}

/// The browser side of Apple's `form_post`: submit the provider's form at the redirect node.
async function submitFormPost(providerURL) {
  const answer = await fetch(providerURL, { redirect: "manual" });
  const html = await answer.text();
  check(answer.status === 200 && html.includes("<form"), "the provider answers with a form");
  const unescape = (text) => text.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  const action = unescape(html.match(/action="([^"]*)"/)[1]);
  const fields = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/name="([^"]*)" value="([^"]*)"/g)) {
    fields.append(name, unescape(value));
  }
  check(fields.get("user")?.includes("firstName"), "the form carries the user's name");
  const page = await fetch(atRedirectNode(action), { method: "POST", body: fields, redirect: "manual" });
  check(completed(page, await page.text()), "the posted redirect completes the login");
}

async function main() {
  const admin = client();
  await admin.collection("_superusers").authWithPassword(superEmail, superPassword);
  const providers = [JSON.parse(process.env.OIDC_PROVIDER)];
  if (process.env.APPLE_PROVIDER) providers.push(JSON.parse(process.env.APPLE_PROVIDER));
  await admin.collections.update("users", { oauth2: { enabled: true, providers } });

  const pb = client();
  const viaOidc = await pb.collection("users").authWithOAuth2({ provider: "oidc", urlCallback: followRedirect });
  check(viaOidc.meta.isNew === true, "the first OIDC login signs up");
  check(viaOidc.record.email === process.env.OIDC_EMAIL, `the OIDC user's email (${viaOidc.record.email})`);
  check(pb.authStore.isValid && pb.authStore.record.id === viaOidc.record.id, "the SDK keeps the new auth");
  check(!pb.realtime.isConnected, "the login's stream is closed afterwards");

  const again = client();
  const second = await again.collection("users").authWithOAuth2({ provider: "oidc", urlCallback: followRedirect });
  check(second.meta.isNew === false && second.record.id === viaOidc.record.id, "the second login finds the linked record");

  if (process.env.APPLE_PROVIDER) {
    const withApple = client();
    const viaApple = await withApple.collection("users").authWithOAuth2({ provider: "apple", urlCallback: submitFormPost });
    check(viaApple.meta.isNew === true, "the first Apple login signs up");
    check(viaApple.record.email === process.env.APPLE_EMAIL, `the Apple user's email (${viaApple.record.email})`);
    check(viaApple.record.name === process.env.APPLE_NAME, `the name from Apple's first redirect (${viaApple.record.name})`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
