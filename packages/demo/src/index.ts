/**
 * @sealdoc/demo: not built yet. This entry exists so the workspace builds; it exports
 * nothing and promises nothing. See the project's issues for what it will hold.
 * @packageDocumentation
 */
export {};
