// Passkeys (WebAuthn). Each passkey button sits in a form marked
// data-passkey="create" (add a passkey) or "get" (sign in with one), whose
// data-options names where to ask for a challenge. On submit, this asks
// for the options (JSON), hands them to navigator.credentials, and puts
// the browser's answer, as JSON, in the form's hidden "credential" field
// before sending the form for real: the server checks it and answers as
// for any form. Loaded as a file (no inline script), so the Content
// Security Policy can forbid inline code. Without WebAuthn the forms stay
// hidden (the stylesheet shows them only under html.webauthn).
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  document.documentElement.classList.add("webauthn");

  // WebAuthn's binary fields travel as base64url text in JSON.
  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decodeList(list) {
    return (list || []).map(function (c) {
      var d = { type: c.type, id: fromB64url(c.id) };
      if (c.transports) d.transports = c.transports;
      return d;
    });
  }

  // creationOptions and requestOptions turn the server's JSON into what
  // navigator.credentials takes.
  function creationOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    pk.excludeCredentials = decodeList(pk.excludeCredentials);
    return { publicKey: pk };
  }
  function requestOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    pk.allowCredentials = decodeList(pk.allowCredentials);
    return { publicKey: pk };
  }

  // answer is the browser's credential as the JSON the server reads.
  function answer(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) out.response.userHandle = toB64url(r.userHandle);
    }
    return JSON.stringify(out);
  }

  function say(form, text) {
    var status = document.getElementById(form.getAttribute("data-status"));
    if (status) status.textContent = text;
  }

  function run(form) {
    var create = form.getAttribute("data-passkey") === "create";
    var name = form.querySelector("input[name=name]");
    if (create && name && !name.value.trim()) {
      // Let the server say the name is missing, beside the field.
      form.submit();
      return;
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    say(form, create ? "Follow your browser's steps to create the passkey…" : "Follow your browser's steps to use your passkey…");
    var body = new URLSearchParams();
    var token = form.querySelector("input[name=form]");
    if (token) body.set("form", token.value);
    fetch(form.getAttribute("data-options"), { method: "POST", credentials: "same-origin", body: body,
      headers: { "Accept": "application/json" } })
      .then(function (res) {
        return res.json().then(function (data) {
          if (!res.ok) throw new Error((data.message || ["That did not work."]).join(" "));
          return data;
        });
      })
      .then(function (data) {
        return create ? navigator.credentials.create(creationOptions(data.publicKey))
          : navigator.credentials.get(requestOptions(data.publicKey));
      })
      .then(function (cred) {
        if (!cred) throw new Error("No passkey was given.");
        form.querySelector("input[name=credential]").value = answer(cred);
        say(form, "Checking…");
        form.submit();
      })
      .catch(function (err) {
        button.disabled = false;
        if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) {
          say(form, "Cancelled, or no passkey was found on this device. Try again, or sign in another way.");
        } else if (err && err.name === "InvalidStateError") {
          say(form, "This device holds one of your passkeys already.");
        } else {
          say(form, (err && err.message) || "That did not work. Try again.");
        }
      });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("form[data-passkey]");
    if (!form) return;
    ev.preventDefault();
    run(form);
  });
})();
