// Verify a hookline webhook with node:crypto only (Node.js 18+).
//
// Usage: WEBHOOK_SECRET=whsec_... node verify.js BODY_FILE HEADERS_JSON_FILE
// In your app, call verify() with the raw body as a Buffer (Express:
// express.raw({ type: "application/json" })) and the request's headers.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");

const TOLERANCE = 300; // seconds webhook-timestamp may differ from this host's clock
// hookline always sends webhook-signature. Set true only while MAAC itself still sends
// to this URL: its requests carry CrescLab-Signature alone, which has no timestamp.
const ALLOW_MAAC_ONLY = false;

function equal(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// Throws unless the raw body was signed with the share secret.
function verify(body, headers, secret) {
  const h = {};
  for (const [name, value] of Object.entries(headers)) {
    h[name.toLowerCase()] = String(value).trim();
  }
  if (h["webhook-signature"]) {
    // Standard Webhooks: signs id, timestamp and body; the timestamp stops replays.
    const id = h["webhook-id"] || "";
    const stamp = h["webhook-timestamp"] || "";
    if (!id || !/^\d+$/.test(stamp)) throw new Error("webhook-id or webhook-timestamp missing");
    if (Math.abs(Date.now() / 1000 - Number(stamp)) > TOLERANCE) {
      throw new Error("webhook-timestamp outside the tolerance");
    }
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    const expected = crypto
      .createHmac("sha256", key)
      .update(`${id}.${stamp}.`)
      .update(body)
      .digest("base64");
    // One "v1,<base64>" per valid secret (several during a rotation): any may match.
    const entries = h["webhook-signature"].split(/\s+/);
    if (entries.some((e) => e.startsWith("v1,") && equal(e.slice(3), expected))) return;
    throw new Error("no webhook-signature matches");
  }
  if (!ALLOW_MAAC_ONLY) throw new Error("webhook-signature missing");
  // MAAC's scheme: hex HMAC-SHA256 of the raw body, keyed by the whole secret text.
  const expected = crypto.createHmac("sha256", secret).update(body).digest("hex");
  if (!equal((h["cresclab-signature"] || "").toLowerCase(), expected)) {
    throw new Error("CrescLab-Signature does not match");
  }
}

module.exports = { verify };

if (require.main === module) {
  const [bodyFile, headersFile] = process.argv.slice(2);
  const body = fs.readFileSync(bodyFile);
  const headers = JSON.parse(fs.readFileSync(headersFile, "utf8"));
  try {
    verify(body, headers, process.env.WEBHOOK_SECRET);
  } catch (err) {
    console.error(`rejected: ${err.message}`);
    process.exit(1);
  }
  console.log("verified");
}
