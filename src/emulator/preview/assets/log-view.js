// @ts-check
// The write log pane: one row per CardKit write to the selected card (time, endpoint, sequence, code),
// appended as writes arrive, scrolled along while the user is at the bottom.
import { el } from './dom.js';
import { clockTime } from './format.js';

/** @typedef {import('./emulator-api.js').LogEntry} LogEntry */
/** @typedef {import('./emulator-api.js').CardSnapshot} CardSnapshot */

/** Rows kept on screen; older writes are summed up in one row. */
const LIMIT = 500;

export class LogView {
  /**
   * @param {HTMLElement} body the table body rows go into
   * @param {HTMLElement} summary the line that counts writes
   */
  constructor(body, summary) {
    this.body = body;
    this.summary = summary;
    this.rendered = 0;
    /** @type {string | null} identifies the log shown, to notice when another one (or a reset one) comes */
    this.first = null;
  }

  /** @param {CardSnapshot} snapshot */
  update(snapshot) {
    const log = Array.isArray(snapshot.log) ? snapshot.log : [];
    const first = log[0] ? `${log[0].time}|${log[0].endpoint}` : null;
    const scroller = this.body.closest('.log-scroll');
    const atBottom = !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
    if (first !== this.first || log.length < this.rendered) {
      this.body.replaceChildren();
      this.rendered = Math.max(0, log.length - LIMIT);
      this.first = first;
      if (this.rendered > 0) {
        const row = el('tr', 'log-more');
        const cell = el('td', null, `${this.rendered} earlier writes not shown`);
        cell.colSpan = 4;
        row.append(cell);
        this.body.append(row);
      }
    }
    for (; this.rendered < log.length; this.rendered++) {
      const entry = log[this.rendered];
      if (entry) this.body.append(logRow(entry));
    }
    const accepted = log.filter((entry) => entry.code === 0).length;
    this.summary.textContent = log.length
      ? `${log.length} write${log.length === 1 ? '' : 's'} · ${accepted} accepted · ${log.length - accepted} rejected · max in flight ${snapshot.max_in_flight ?? 0}`
      : 'No writes yet.';
    if (atBottom && scroller) scroller.scrollTop = scroller.scrollHeight;
  }

  /** @param {string} text what the summary line says instead */
  clear(text) {
    this.body.replaceChildren();
    this.rendered = 0;
    this.first = null;
    this.summary.textContent = text;
  }
}

/** @param {LogEntry} entry */
function logRow(entry) {
  const row = el('tr', entry.code === 0 ? 'ok' : 'rejected');
  const sequence = entry.sequence === null || entry.sequence === undefined ? null : String(entry.sequence);
  row.dataset.sequence = sequence ?? '';
  row.dataset.code = String(entry.code);
  const endpoint = String(entry.endpoint ?? '').replace(/^cardkit\./, '');
  const what = el('td', 'log-endpoint', endpoint);
  if (entry.element_id) what.append(el('span', 'log-element', ` #${entry.element_id}`));
  if (typeof entry.content_length === 'number') what.append(el('span', 'log-length', ` ${entry.content_length} ch`));
  if (entry.uuid) what.title = `uuid ${entry.uuid}`;
  row.append(
    el('td', 'log-time', clockTime(entry.time)),
    what,
    el('td', 'log-seq', sequence ?? '–'),
    el('td', 'log-code', entry.code === 0 ? '0 ok' : String(entry.code)),
  );
  return row;
}
