// Security keys and passkeys: the gateway's only script, loaded only by the pages that offer
// a key (CSP script-src 'self'). A form marked data-webauthn="register|authenticate|passwordless"
// is hidden until this script runs in a browser that has WebAuthn; its button fetches the
// ceremony's options from the gateway, asks the authenticator, puts the JSON answer in the
// form's hidden field and posts the form. Every other form works without it.
(() => {
  'use strict';
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  const decode = (s) => {
    const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
  };
  const encode = (buf) => {
    let s = '';
    for (const byte of new Uint8Array(buf)) s += String.fromCharCode(byte);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  const withIds = (list) => (list || []).map((c) => ({ ...c, id: decode(c.id) }));

  function creation(o) {
    return { ...o, challenge: decode(o.challenge), user: { ...o.user, id: decode(o.user.id) }, excludeCredentials: withIds(o.excludeCredentials) };
  }
  function request(o) {
    return { ...o, challenge: decode(o.challenge), allowCredentials: withIds(o.allowCredentials) };
  }
  function toJSON(c) {
    const r = c.response;
    const response = { clientDataJSON: encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = encode(r.attestationObject);
      response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
    } else {
      response.authenticatorData = encode(r.authenticatorData);
      response.signature = encode(r.signature);
      if (r.userHandle) response.userHandle = encode(r.userHandle);
    }
    return {
      id: c.id,
      rawId: encode(c.rawId),
      type: c.type,
      response,
      clientExtensionResults: c.getClientExtensionResults(),
      authenticatorAttachment: c.authenticatorAttachment || undefined,
    };
  }

  for (const form of document.querySelectorAll('form[data-webauthn]')) {
    const purpose = form.dataset.webauthn;
    const error = form.querySelector('[data-webauthn-error]');
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (error) error.hidden = true;
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        const body = new URLSearchParams({ purpose, csrf: form.elements.csrf.value });
        const res = await fetch(form.dataset.options, { method: 'POST', body, credentials: 'same-origin', headers: { accept: 'application/json' } });
        if (!res.ok) throw new Error(`options: ${res.status}`);
        const options = await res.json();
        const credential =
          purpose === 'register'
            ? await navigator.credentials.create({ publicKey: creation(options) })
            : await navigator.credentials.get({ publicKey: request(options) });
        form.elements.credential.value = JSON.stringify(toJSON(credential));
        form.submit();
      } catch (err) {
        button.disabled = false;
        if (error) error.hidden = false;
        console.warn('security key:', err);
      }
    });
  }
})();
