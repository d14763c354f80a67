# Render Markdown documents with kramdown's GFM parser (Jekyll's default).
# stdin: JSON array of Markdown documents; stdout: JSON array of HTML.
require "json"
require "kramdown"
require "kramdown-parser-gfm"

docs = JSON.parse($stdin.read)
out = docs.map { |md| Kramdown::Document.new(md, input: "GFM", hard_wrap: false).to_html }
$stdout.write(JSON.generate(out))
