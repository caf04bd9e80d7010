"""The page ``pluma auth login`` opens, kept in Python so it ships without package-data rules.

The script is served as its own file so the strict CSP (``script-src 'self'``) needs no exception.
"""

CLI_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pluma: sign in the command line</title>
</head>
<body>
<main>
  <h1>Sign in the Pluma command line?</h1>
  <p>A <code>pluma auth login</code> on this computer asks for a bearer token. Allow only if you started it.</p>
  <button id="allow" type="button">Allow</button>
  <p id="status" role="status"></p>
</main>
<script src="/auth/cli.js" defer></script>
</body>
</html>
"""

CLI_JS = r"""// Mint a token for `pluma auth login` and hand it to its loopback listener.
"use strict";
const params = new URLSearchParams(location.search);
const port = Number(params.get("port"));
const state = params.get("state") || "";
const status = document.getElementById("status");
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

async function post(path, body) {
  return fetch(path, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {})});
}

async function signIn() {
  const options = await (await post("/api/auth/login/begin")).json();
  options.challenge = unb64(options.challenge);
  options.allowCredentials = (options.allowCredentials || []).map((c) => ({...c, id: unb64(c.id)}));
  const cred = await navigator.credentials.get({publicKey: options});
  const r = cred.response;
  const done = await post("/api/auth/login/finish", {id: cred.id, rawId: b64(cred.rawId), type: cred.type,
    response: {clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData),
      signature: b64(r.signature), userHandle: r.userHandle ? b64(r.userHandle) : null}});
  if (!done.ok) throw new Error((await done.json()).error);
}

document.getElementById("allow").addEventListener("click", async () => {
  if (!Number.isInteger(port) || port < 1024 || port > 65535 || !/^[A-Za-z0-9_-]{8,64}$/.test(state)) {
    status.textContent = "This link is malformed.";
    return;
  }
  try {
    let minted = await post("/api/auth/token", {label: "cli"});
    if (minted.status === 401) {
      await signIn();
      minted = await post("/api/auth/token", {label: "cli"});
    }
    const body = await minted.json();
    if (!minted.ok) throw new Error(body.error);
    location.href = `http://127.0.0.1:${port}/callback?` + new URLSearchParams({state, token: body.token});
  } catch (err) {
    status.textContent = "Failed: " + err.message;
  }
});
"""
