// @ts-check
// Feishu card markdown → DOM, built with createElement/textContent only: model output can never
// become markup. Covers what the Feishu client renders in a card's markdown component: headings,
// emphasis, strikethrough, inline code, fenced code, nested lists, tables, links and autolinks,
// blockquotes, rules, line breaks, and Feishu's own <font>, <at>, <text_tag> and <br> tags.
// Anything else that looks like HTML is shown as the text it is. Rendering takes time linear in the
// source, whatever it holds: model output is not to be trusted to be well-formed.
import { el } from './dom.js';
import { parseBlocks } from './md-blocks.js';
import { appendInline } from './md-inline.js';

/** @typedef {import('./md-blocks.js').Block} Block */

/**
 * Renders Feishu markdown into a new fragment.
 * @param {unknown} source
 * @returns {DocumentFragment}
 */
export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  const lines = String(source ?? '').replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
  renderBlocks(parseBlocks(lines), fragment, false);
  return fragment;
}

/**
 * Appends the DOM for `blocks` to `parent`; in a tight list item (`tight`) paragraphs are spans, not `<p>`.
 * @param {Block[]} blocks
 * @param {ParentNode} parent
 * @param {boolean} tight
 */
function renderBlocks(blocks, parent, tight) {
  for (const block of blocks) parent.append(renderBlock(block, tight));
}

/**
 * @param {Block} block
 * @param {boolean} tight
 * @returns {Node}
 */
function renderBlock(block, tight) {
  switch (block.type) {
    case 'paragraph': {
      const node = tight ? el('span', 'md-tight') : el('p');
      appendInline(node, block.text);
      return node;
    }
    case 'heading': {
      const heading = el(/** @type {'h1'} */ (`h${block.level}`));
      appendInline(heading, block.text);
      return heading;
    }
    case 'rule':
      return el('hr');
    case 'code': {
      const pre = el('pre', 'md-code-block');
      if (block.lang) pre.dataset.lang = block.lang;
      pre.append(el('code', null, block.text));
      return pre;
    }
    case 'quote': {
      const quote = el('blockquote');
      renderBlocks(block.children, quote, false);
      return quote;
    }
    case 'list': {
      const list = block.ordered ? el('ol') : el('ul');
      if (block.ordered && block.start !== 1) list.setAttribute('start', String(block.start));
      for (const item of block.items) {
        const li = el('li');
        renderBlocks(item.children, li, !item.loose);
        list.append(li);
      }
      return list;
    }
    case 'table':
      return renderTable(block.header, block.align, block.rows);
  }
}

/**
 * @param {string[]} header
 * @param {string[]} align
 * @param {string[][]} rows
 */
function renderTable(header, align, rows) {
  const wrap = el('div', 'md-table-wrap');
  const table = el('table');
  const headRow = el('tr');
  header.forEach((cell, index) => headRow.append(tableCell('th', cell, align[index])));
  const thead = el('thead');
  thead.append(headRow);
  const tbody = el('tbody');
  for (const row of rows) {
    const tr = el('tr');
    row.forEach((cell, index) => tr.append(tableCell('td', cell, align[index])));
    tbody.append(tr);
  }
  table.append(thead, tbody);
  wrap.append(table);
  return wrap;
}

/**
 * @param {'th' | 'td'} tag
 * @param {string} text
 * @param {string | undefined} align
 */
function tableCell(tag, text, align) {
  const cell = el(tag);
  if (align) cell.className = `md-align-${align}`;
  appendInline(cell, text);
  return cell;
}
