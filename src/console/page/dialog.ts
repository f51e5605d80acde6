import { h } from './dom.js';

/** A text field a confirmation asks for (a topic, a snapshot name). */
export interface Field {
  name: string;
  label: string;
  value?: string;
  hint?: string;
}

/** What a confirmation says. */
export interface Confirmation {
  title: string;
  body: string;
  confirm: string;
  /** Cancel and irreversible actions get the red button. */
  danger?: boolean;
  fields?: Field[];
}

/**
 * Asks before acting, in a native modal `<dialog>`: the browser moves focus into it, keeps
 * Tab inside it, and closes it on Escape, so it works from the keyboard as it does with a mouse.
 * Resolves with the fields' values, or null when cancelled.
 */
export function confirmAction(c: Confirmation): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    const inputs = (c.fields ?? []).map((f) =>
      h('input', {
        name: f.name,
        id: `field-${f.name}`,
        value: f.value ?? '',
        required: true,
        autocomplete: 'off',
      }),
    );
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', {}, c.title),
      h('p', {}, c.body),
      ...(c.fields ?? []).map((f, i) =>
        h(
          'label',
          { for: `field-${f.name}` },
          f.label,
          inputs[i],
          f.hint ? h('small', {}, f.hint) : null,
        ),
      ),
      h(
        'menu',
        {},
        h(
          'button',
          { type: 'button', value: 'cancel', class: 'secondary', 'data-role': 'cancel' },
          'Cancel',
        ),
        h(
          'button',
          {
            type: 'submit',
            value: 'ok',
            class: c.danger ? 'danger' : 'primary',
            'data-role': 'confirm',
          },
          c.confirm,
        ),
      ),
    );
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' }, form);
    form.querySelector('h2')?.setAttribute('id', 'dialog-title');
    let result: Record<string, string> | null = null;
    form.addEventListener('submit', () => {
      result = Object.fromEntries(inputs.map((i) => [i.name, i.value.trim()]));
    });
    form.querySelector('[data-role=cancel]')?.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    // The first field, or the safe choice when there is none to fill.
    (inputs[0] ?? form.querySelector<HTMLButtonElement>('[data-role=cancel]'))?.focus();
  });
}
