// Build a Hexo site (the folder given) with the Hexo and hexo-renderer-marked installed here.
// Exits non-zero on any build error; Hexo's warnings and errors go to stderr.
"use strict";
const path = require("path");
const Hexo = require("hexo");

async function main() {
  const site = path.resolve(process.argv[2]);
  const hexo = new Hexo(site, { silent: false, debug: false });
  await hexo.init();
  await hexo.load();
  await hexo.call("generate", {});
  await hexo.exit();
}
main().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); });
