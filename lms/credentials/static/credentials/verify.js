// Verifies an Open Badges 3.0 VC-JWT in the browser, as any verifier would (docs/credentials.md): resolve the key
// from the issuer's did:web document, check the Ed25519 signature with WebCrypto, the JWT claims against the
// credential, the dates, and the bit in the signed Bitstring Status List. Our server's verification is not used:
// only the published DID documents and status lists are fetched, which any host could serve.
(function () {
  "use strict";
  var button = document.getElementById("verify-in-browser");
  if (!button) return;
  var messages = JSON.parse(document.getElementById("verify-messages").textContent);
  var out = document.getElementById("browser-result");

  function Fail(reason) { this.reason = reason; }

  function b64u(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  function parse(bytes) { return JSON.parse(new TextDecoder().decode(bytes)); }

  function didUrl(did) {
    var parts = did.split(":");
    if (parts.length < 3 || parts[0] !== "did" || parts[1] !== "web") throw new Fail("unknown_key");
    var host = decodeURIComponent(parts[2]);
    var path = parts.length === 3 ? "/.well-known/did.json"
      : "/" + parts.slice(3).map(decodeURIComponent).join("/") + "/did.json";
    // did:web is HTTPS; a development server on plain HTTP is reached as the page itself was.
    var scheme = host === location.host ? location.protocol : "https:";
    return scheme + "//" + host + path;
  }

  async function verifyJws(token) {
    var parts = token.split(".");
    if (parts.length !== 3) throw new Fail("malformed");
    var header, payload, signature;
    try {
      header = parse(b64u(parts[0]));
      payload = parse(b64u(parts[1]));
      signature = b64u(parts[2]);
    } catch (e) { throw new Fail("malformed"); }
    if (header.alg !== "EdDSA" || typeof header.kid !== "string") throw new Fail("unsupported");
    var did = header.kid.split("#")[0];
    var doc;
    try {
      var response = await fetch(didUrl(did), { cache: "no-store" });
      if (!response.ok) throw new Fail("unknown_key");
      doc = await response.json();
    } catch (e) { throw new Fail("unknown_key"); }
    var method = (doc.verificationMethod || []).filter(function (m) { return m.id === header.kid; })[0];
    if (doc.id !== did || !method || (doc.assertionMethod || []).indexOf(header.kid) < 0) throw new Fail("unknown_key");
    var jwk = method.publicKeyJwk || {};
    var key = await crypto.subtle.importKey(
      "jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
    var ok = await crypto.subtle.verify(
      { name: "Ed25519" }, key, signature, new TextEncoder().encode(parts[0] + "." + parts[1]));
    if (!ok) throw new Fail("bad_signature");
    var issuer = payload.issuer && (payload.issuer.id || payload.issuer);
    if (issuer !== did) throw new Fail("inconsistent");
    return payload;
  }

  function seconds(text) { return Math.floor(Date.parse(text) / 1000); }

  function checkClaims(c) {
    var subject = c.credentialSubject || {};
    if (c.iss !== (c.issuer && c.issuer.id) || c.jti !== c.id || c.sub !== subject.id) throw new Fail("inconsistent");
    if (c.nbf !== seconds(c.validFrom)) throw new Fail("inconsistent");
    if (c.validUntil !== undefined ? c.exp !== seconds(c.validUntil) : c.exp !== undefined) throw new Fail("inconsistent");
    var now = Date.now() / 1000;
    if (seconds(c.validFrom) > now) throw new Fail("not_yet_valid");
    if (c.validUntil !== undefined && seconds(c.validUntil) < now) throw new Fail("expired");
  }

  async function revoked(status) {
    if (!status || status.type !== "BitstringStatusListEntry") throw new Fail("status_unknown");
    var list;
    try {
      var response = await fetch(status.statusListCredential, { cache: "no-store" });
      if (!response.ok) throw new Fail("status_unknown");
      list = await verifyJws((await response.text()).trim());
    } catch (e) { throw new Fail("status_unknown"); }
    var encoded = list.credentialSubject && list.credentialSubject.encodedList;
    if (typeof encoded !== "string" || encoded[0] !== "u") throw new Fail("status_unknown");
    var stream = new Blob([b64u(encoded.slice(1))]).stream().pipeThrough(new DecompressionStream("gzip"));
    var bits = new Uint8Array(await new Response(stream).arrayBuffer());
    var index = parseInt(status.statusListIndex, 10);
    if (!(index >= 0 && index < bits.length * 8)) throw new Fail("status_unknown");
    return (bits[index >> 3] & (0x80 >> (index % 8))) !== 0;
  }

  function day(text) { return new Date(text).toLocaleDateString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" }); }

  function show(valid, reason, text) {
    out.hidden = false;
    out.className = "alert " + (valid ? "alert-success" : "alert-danger");
    out.dataset.reason = reason;
    out.textContent = text;
  }

  button.addEventListener("click", async function () {
    var text = document.getElementById("token").value.trim();
    if (text[0] === "{") {
      try { text = String(JSON.parse(text).jwt || ""); } catch (e) { text = ""; }
    }
    try {
      var c = await verifyJws(text.replace(/\s+/g, ""));
      checkClaims(c);
      if (await revoked(c.credentialStatus)) throw new Fail("revoked");
      var subject = c.credentialSubject || {};
      var holder = (subject.source && subject.source.name) || messages.person;
      show(true, "ok", messages.ok
        .replace("{issuer}", c.issuer.name || c.issuer.id)
        .replace("{achievement}", (subject.achievement && subject.achievement.name) || c.name || "")
        .replace("{holder}", holder)
        .replace("{from}", day(c.validFrom))
        .replace("{until}", c.validUntil ? messages.until.replace("{until}", day(c.validUntil)) : ""));
    } catch (e) {
      var reason = e instanceof Fail ? e.reason : "malformed";
      show(false, reason, messages[reason]);
    }
  });
})();
