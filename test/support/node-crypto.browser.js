// `crypto` in the browser, for dependencies that fall back to Node's module: the platform's WebCrypto.
export const webcrypto = globalThis.crypto;
export default { webcrypto };
