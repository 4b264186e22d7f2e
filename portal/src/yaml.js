// The YAML parser, a file of its own that the page loads only when a config is checked: the
// sign-in page and the rest of the app stay small.
export { load } from "js-yaml";
