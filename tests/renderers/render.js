// Render Markdown documents with the JavaScript renderers feed2md's output is tested with.
// stdin: JSON {"renderers": [names], "docs": [markdown, ...]}; stdout: JSON {name: [html, ...]}.
"use strict";
const commonmark = require("commonmark");
const marked2 = require("marked2");
const marked4 = require("marked4");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const { renderers, docs } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const current = await import("marked");
  const reader = new commonmark.Parser();
  const writer = new commonmark.HtmlRenderer();
  const table = {
    // Hexo's hexo-renderer-marked 4 runs marked 2 with gfm on; 5 and 6 run marked 4.
    marked2: (md) => marked2(md, { gfm: true }),
    marked4: (md) => marked4.marked.parse(md, { gfm: true }),
    marked: (md) => current.marked.parse(md, { gfm: true, async: false }),
    commonmark: (md) => writer.render(reader.parse(md)),
  };
  const out = {};
  for (const name of renderers) out[name] = docs.map((md) => table[name](md));
  process.stdout.write(JSON.stringify(out));
}
main().catch((err) => { console.error(err); process.exit(1); });
