// Verifies an Open Badges 3.0 VC-JWT in the browser, as any verifier would (docs/credentials.md): resolve the key
// from the issuer's did:web document, check the Ed25519 signature with WebCrypto, the JWT claims against the
// credential, the dates, and the bit in the signed Bitstring Status List. Our server's verification is not used.
//
// Where the keys and lists come from (ADR 32): the page carries every issuer's DID document and every status list,
// signed, as of the moment it was served (#verify-trust). A DID document is taken from there, and fetched from the
// DID's host only for a key the page does not know (a page saved before the key existed). A status list is fetched
// fresh when it can be, else the page's copy is used and its date shown. Either way every signature is checked here.
//
// A credential scanned from a certificate's QR code arrives in the address's fragment (#vc1.…), which the browser
// never sends to any server: it is unpacked here (raw DEFLATE) and verified at once.
(function () {
  "use strict";
  var button = document.getElementById("verify-in-browser");
  if (!button) return;
  var messages = JSON.parse(document.getElementById("verify-messages").textContent);
  var trustNode = document.getElementById("verify-trust");
  var trust = trustNode ? JSON.parse(trustNode.textContent) : { dids: {}, status: {} };
  var out = document.getElementById("browser-result");
  var source = document.getElementById("status-source");
  var textarea = document.getElementById("token");
  var nameInput = document.getElementById("name");
  var nameOut = document.getElementById("browser-name-result");

  function Fail(reason) { this.reason = reason; }

  function b64u(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  function toB64u(bytes) {
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function parse(bytes) { return JSON.parse(new TextDecoder().decode(bytes)); }

  async function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // "vc1." + base64url(raw DEFLATE(header, LF, payload, LF, signature)) → the compact JWS that was signed.
  async function unpack(packed) {
    var raw = await inflate(b64u(packed.slice(4)));
    var first = raw.indexOf(10);
    var second = raw.indexOf(10, first + 1);
    if (first < 0 || second < 0) throw new Fail("malformed");
    return [raw.slice(0, first), raw.slice(first + 1, second), raw.slice(second + 1)].map(toB64u).join(".");
  }

  async function presented(text) {
    text = text.trim();
    if (text[0] === "{") {
      try { return String(JSON.parse(text).jwt || ""); } catch (e) { return ""; }
    }
    var hash = text.lastIndexOf("#");
    var fragment = hash >= 0 ? text.slice(hash + 1) : text;
    if (fragment.indexOf("vc1.") === 0) {
      try { return await unpack(fragment.replace(/\s+/g, "")); } catch (e) { return ""; }
    }
    return text;
  }

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

  function knows(doc, kid) {
    return doc && (doc.verificationMethod || []).some(function (m) { return m.id === kid; });
  }

  async function resolve(did, kid) {
    var doc = (trust.dids || {})[did];
    if (knows(doc, kid)) return doc;
    try {
      var response = await fetch(didUrl(did), { cache: "no-store" });
      if (!response.ok) throw new Fail("unknown_key");
      return await response.json();
    } catch (e) { throw new Fail("unknown_key"); }
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
    var doc = await resolve(did, header.kid);
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

  // The signed list: fresh from its URL when reachable, else the page's copy. Returns [list, "network"|"page"].
  async function statusList(url) {
    try {
      var response = await fetch(url, { cache: "no-store" });
      if (response.ok) return [await verifyJws((await response.text()).trim()), "network"];
    } catch (e) { /* unreachable or not verifiable: fall back to the page's copy */ }
    var copy = (trust.status || {})[url];
    if (!copy) throw new Fail("status_unknown");
    try { return [await verifyJws(copy), "page"]; } catch (e) { throw new Fail("status_unknown"); }
  }

  async function revoked(status) {
    if (!status || status.type !== "BitstringStatusListEntry") throw new Fail("status_unknown");
    var found = await statusList(status.statusListCredential);
    var list = found[0];
    if (list.validUntil !== undefined && seconds(list.validUntil) < Date.now() / 1000) throw new Fail("status_unknown");
    var encoded = list.credentialSubject && list.credentialSubject.encodedList;
    if (typeof encoded !== "string" || encoded[0] !== "u") throw new Fail("status_unknown");
    var stream = new Blob([b64u(encoded.slice(1))]).stream().pipeThrough(new DecompressionStream("gzip"));
    var bits = new Uint8Array(await new Response(stream).arrayBuffer());
    var index = parseInt(status.statusListIndex, 10);
    if (!(index >= 0 && index < bits.length * 8)) throw new Fail("status_unknown");
    source.hidden = false;
    source.dataset.source = found[1];
    source.textContent = (found[1] === "page" ? messages.status_page : messages.status_network)
      .replace("{at}", moment(list.validFrom));
    return (bits[index >> 3] & (0x80 >> (index % 8))) !== 0;
  }

  // dd/mm/yyyy and "dd/mm/yyyy hh:mm" in Vietnam's time, as every page writes them: the browser's "vi-VN" wrote
  // "30/3/2026" and "04:18:59 8/12/2026".
  var VN = { timeZone: "Asia/Ho_Chi_Minh" };
  function day(text) {
    return new Date(text).toLocaleDateString("vi-VN", Object.assign({ day: "2-digit", month: "2-digit", year: "numeric" }, VN));
  }
  function moment(text) {
    var time = new Date(text).toLocaleTimeString("vi-VN", Object.assign({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }, VN));
    return day(text) + " " + time;
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // The typed name against the credential's salted hash, composed (NFC) and decomposed (NFD): a credential issued
  // to a name stored decomposed (before migration 0048) matches a name typed from an identity card. Nothing weaker
  // (ADR 32, amended). Null: nothing typed, or no name in the credential.
  async function nameMatches(c, typed) {
    typed = typed.trim();
    var identifiers = (c.credentialSubject || {}).identifier;
    if (!typed || !Array.isArray(identifiers)) return null;
    var forms = [typed.normalize("NFC"), typed.normalize("NFD")];
    var found = null;
    for (var i = 0; i < identifiers.length; i++) {
      var identity = identifiers[i] || {};
      if (identity.identityType !== "name") continue;
      var stored = String(identity.identityHash || "");
      var matched = false;
      if (identity.hashed) {
        if (stored.indexOf("sha256$") !== 0) continue;
        for (var j = 0; j < forms.length; j++) {
          var digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(forms[j] + String(identity.salt || "")));
          if ("sha256$" + hex(digest) === stored) matched = true;
        }
      } else {
        matched = forms.indexOf(stored.normalize("NFC")) >= 0 || forms.indexOf(stored.normalize("NFD")) >= 0;
      }
      found = found || matched;
    }
    return found;
  }

  async function showName(c) {
    var match = await nameMatches(c, nameInput ? nameInput.value : "");
    nameOut.hidden = match === null;
    if (match === null) return;
    nameOut.className = "alert " + (match ? "alert-success" : "alert-warning");
    nameOut.dataset.match = match ? "yes" : "no";
    nameOut.textContent = match ? messages.name_match : messages.name_mismatch;
  }

  function show(valid, reason, text) {
    out.hidden = false;
    out.className = "alert " + (valid ? "alert-success" : "alert-danger");
    out.dataset.reason = reason;
    out.textContent = text;
  }

  async function run() {
    source.hidden = true;
    nameOut.hidden = true;
    try {
      var c = await verifyJws((await presented(textarea.value)).replace(/\s+/g, ""));
      await showName(c);  // the signature is ours: the name it carries can be compared, whatever follows
      checkClaims(c);
      var clr = !c.credentialStatus && (c.type || []).indexOf("ClrCredential") >= 0;
      if (clr) {  // a learner's record is a snapshot: each bundled credential carries its own status
        source.hidden = false;
        source.dataset.source = "none";
        source.textContent = messages.clr_snapshot;
      } else if (await revoked(c.credentialStatus)) throw new Fail("revoked");
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
  }

  button.addEventListener("click", run);

  // The downloaded file chosen from the phone's files: read here (never uploaded) and verified at once.
  var file = document.getElementById("credential-file");
  if (file) file.addEventListener("change", function () {
    if (!file.files || !file.files.length) return;
    file.files[0].text().then(function (text) { textarea.value = text; run(); });
  });

  // Opened from a scanned QR code: the credential is in the fragment; show it and verify it at once.
  if (location.hash.indexOf("#vc1.") === 0) {
    textarea.value = location.href;
    run();
  }
})();
