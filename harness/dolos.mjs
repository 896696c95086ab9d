// make similarity's engine: Dolos (https://dolos.ugent.be, @dodona/dolos-lib), run offline.
// Reads {"ignore": {path, content}, "files": [{path, content}]} on standard input: one lab's
// files, and the starter's version of it, whose code is never counted (Dolos's "ignore"
// file). Writes the pairs on standard output as JSON: both paths, the similarity (the share
// of the two files' fingerprints that they share, the starter's left out), the tokens in
// common, the longest run, and the fragments as line ranges (0-based, both ends included),
// most alike first.
// Dolos tokenises with tree-sitter's C grammar: names and layout do not count.
//     node harness/dolos.mjs BUILD/dolos [files.json pairs.json]   (else stdin, stdout)
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const lib = join(process.argv[2], "node_modules", "@dodona", "dolos-lib", "dist", "index.js");
const { Dolos, File } = await import(pathToFileURL(lib).href);
const [, , , from, to] = process.argv;      // files in the sandbox's folder; else stdin, stdout
const input = JSON.parse(readFileSync(from ?? 0, "utf8"));
const files = input.files.map((f) => new File(f.path, f.content));
const ignore = input.ignore ? new File(input.ignore.path, input.ignore.content) : undefined;
const dolos = new Dolos({ language: "c", minSimilarity: 0 });
const report = await dolos.analyze(files, "class", ignore);
// Fragments only for the most alike pairs: the page shows ten side by side, and a class of
// 300 has 44850 pairs a lab.
const FRAGMENT_PAIRS = 100;
const all = report.allPairs().sort((a, b) => b.similarity - a.similarity);
const pairs = all.map((pair, rank) => ({
  left: pair.leftFile.path,
  right: pair.rightFile.path,
  similarity: pair.similarity,
  overlap: pair.overlap,
  longest: pair.longest,
  fragments: rank >= FRAGMENT_PAIRS ? [] : pair.buildFragments().map((f) => ({
    left: [f.leftSelection.startRow, f.leftSelection.endRow],
    right: [f.rightSelection.startRow, f.rightSelection.endRow],
  })),
}));
const output = JSON.stringify({ warnings: report.warnings, pairs });
if (to) writeFileSync(to, output); else process.stdout.write(output);
