// A config written in the page, checked before it is uploaded. The pipeline takes any file in the
// lab's configs folder and hands it to the analysis under its own name (NCAP_CONFIG_PATH), so the
// name says what the analysis reads: NAME.yaml or NAME.yml is saved as written (YAML); NAME.json
// is saved as JSON, and a config written in YAML for it is converted (YAML 1.2's core rules).

// the parser is a file of its own (yaml.js), fetched the first time a config is checked
const parser = () => import("./yaml.js");

const KINDS = [[/\.ya?ml$/i, "yaml"], [/\.json$/i, "json"]];

export class ConfigError extends Error {
  constructor(message, position = null) {
    super(message);
    this.position = position; // where in the text, for the cursor
  }
}

export function kindOf(name) {
  if (!name || /[/\\]/.test(name) || name === "." || name === "..") {
    throw new ConfigError("Name the config with a file name (no folders), like settings.yaml or settings.json.");
  }
  const found = KINDS.find(([pattern]) => pattern.test(name));
  if (!found) {
    throw new ConfigError(`Name the config NAME.yaml (saved as written, YAML) or NAME.json (saved as JSON): ` +
      `"${name}" ends in neither.`);
  }
  return found[1];
}

async function parsed(text) {
  const { load } = await parser();
  try {
    return load(text);
  } catch (error) {
    const mark = error && error.mark;
    const reason = String((error && (error.reason || error.message)) || error).split("\n")[0];
    if (/input is empty/.test(reason)) throw new ConfigError("The config is empty: write its settings.");
    if (mark && Number.isInteger(mark.line)) {
      throw new ConfigError(`The config has a syntax error on line ${mark.line + 1}, column ${mark.column + 1}: ` +
        `${reason}. Nothing was uploaded.`, mark.position);
    }
    throw new ConfigError(`The config is not valid YAML or JSON: ${reason}. Nothing was uploaded.`);
  }
}

function asJson(value) {
  return JSON.stringify(value, (key, item) => {
    if (typeof item === "number" && !Number.isFinite(item)) {
      throw new ConfigError(`"${key}" is ${item}, which JSON cannot hold: name the config .yaml, or give a number.`);
    }
    return item;
  }, 2) + "\n";
}

// The bytes to upload and their type, or a ConfigError saying what is wrong (and where).
export async function checkConfig(name, text) {
  const kind = kindOf(name);
  const value = await parsed(text);
  if (value === null || value === undefined) throw new ConfigError("The config is empty: write its settings.");
  if (kind === "yaml") return { body: text, type: "application/yaml", converted: false };
  try {
    JSON.parse(text);
    return { body: text, type: "application/json", converted: false }; // JSON already: kept as written
  } catch {
    return { body: asJson(value), type: "application/json", converted: true };
  }
}
