// Build a Hexo site (the folder given) with the Hexo its node_modules holds (a link to this
// folder's for Hexo 5, to hexo-current/'s for the current release).
// Exits non-zero on any build error; Hexo's warnings and errors go to stderr.
"use strict";
const path = require("path");

async function main() {
  const site = path.resolve(process.argv[2]);
  const Hexo = require(require.resolve("hexo", { paths: [site] }));
  const hexo = new Hexo(site, { silent: false, debug: false });
  await hexo.init();
  await hexo.load();
  await hexo.call("generate", {});
  await hexo.exit();
}
main().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1); });
