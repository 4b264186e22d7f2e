// Builds the portal into src/ncap_iac/portal/ (or the folder given): index.html, app.js (one
// bundle, minified), yaml.js (the YAML parser, loaded by app.js only when a config is checked) and
// app.css. The output is committed; tests/portal checks it is what these sources build to, so a
// fresh clone needs no npm to run the portal.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || join(here, "..", "src", "ncap_iac", "portal");
mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, format: "esm", target: ["es2022"], legalComments: "none", charset: "utf8" };
await build({ ...common, entryPoints: [join(here, "src", "main.js")], outfile: join(out, "app.js"), external: ["./yaml.js"] });
await build({ ...common, entryPoints: [join(here, "src", "yaml.js")], outfile: join(out, "yaml.js") });
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));
copyFileSync(join(here, "src", "style.css"), join(out, "app.css"));
console.log(`built ${out}: app.js ${statSync(join(out, "app.js")).size} bytes, yaml.js ${statSync(join(out, "yaml.js")).size} bytes`);
