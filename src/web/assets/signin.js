// Sign in with an API token: GET /v1/me tells its company (a company token) or that it is
// the operator's (who then picks a company). The token stays in sessionStorage only.
import { api, ApiError, session } from './api.js';
import { h, clear } from './dom.js';

export function signInView(ctx, { onSignedIn, reason }) {
  ctx.setTitle('Sign in');
  const tokenInput = h('input', {
    id: 'token', name: 'token', type: 'password', required: true, autocomplete: 'off',
    spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'token-hint token-error',
  });
  const tokenError = h('p', { id: 'token-error', class: 'field-error', hidden: true });
  const reveal = h('button', { type: 'button', class: 'secondary small', 'aria-pressed': 'false', 'aria-controls': 'token' }, 'Show');
  reveal.addEventListener('click', () => {
    const shown = tokenInput.type === 'text';
    tokenInput.type = shown ? 'password' : 'text';
    reveal.setAttribute('aria-pressed', String(!shown));
    reveal.textContent = shown ? 'Show' : 'Hide';
  });
  const companySlot = h('div', { class: 'company-pick', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  let operatorCompanies = null;

  const showError = (msg) => {
    clear(tokenError).append(msg);
    tokenError.hidden = false;
    tokenInput.setAttribute('aria-invalid', 'true');
    tokenInput.focus();
  };

  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'token' }, 'API token'),
      h('div', { class: 'input-row' }, tokenInput, reveal),
      h('p', { id: 'token-hint', class: 'hint' },
        'A company token with the ', h('code', {}, 'manage'), ' scope (', h('code', {}, 'hkd_…'),
        '). It is kept in this browser tab only and sent to this server as a Bearer token.'),
      tokenError),
    companySlot,
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    tokenError.hidden = true;
    tokenInput.removeAttribute('aria-invalid');
    const token = tokenInput.value.trim();
    if (!token) return showError('Enter your API token.');
    submit.setAttribute('aria-busy', 'true');
    try {
      const me = await api.me(token);
      let cid = me.company_id;
      if (me.operator) {
        // The operator token may act for any company: pick one.
        if (!operatorCompanies) {
          const list = await api.companies(token);
          operatorCompanies = list.data;
          if (!operatorCompanies.length) return showError('This is the operator token and there is no company yet.');
          clear(companySlot).append(
            h('label', { for: 'company' }, 'Company'),
            h('select', { id: 'company', 'aria-describedby': 'company-hint' },
              operatorCompanies.map((c) => h('option', { value: c.id }, `${c.name} (${c.id})`))),
            h('p', { id: 'company-hint', class: 'hint' }, 'This is the operator token: choose the company to manage.'));
          companySlot.hidden = false;
          companySlot.querySelector('select').focus();
          return;
        }
        cid = companySlot.querySelector('select').value;
      } else if (!me.scopes.includes('manage')) {
        return showError('This token can only publish events. The panel needs a token with the manage scope.');
      }
      session.save(token, cid);
      onSignedIn();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) showError('This token is not valid (unknown or revoked).');
      else showError(e.message || String(e));
    } finally {
      submit.removeAttribute('aria-busy');
    }
  });

  ctx.main.append(
    h('section', { class: 'signin card', 'aria-labelledby': 'signin-title' },
      h('h1', { id: 'signin-title', tabindex: '-1' }, 'Sign in'),
      h('p', { class: 'lead' }, 'Manage where your company’s HR events are delivered.'),
      reason ? h('p', { class: 'notice', role: 'alert' }, reason) : null,
      form));
  tokenInput.focus();
}
