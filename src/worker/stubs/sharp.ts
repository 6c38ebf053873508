/**
 * Stand-in for `sharp`, which transformers.js requires at load time for image pipelines. BERT Lens handles text
 * only, so the native image library is left out of the bundle; calling it explains why.
 */
function sharp(): never {
  throw new Error('Image processing is not available in BERT Lens (sharp is not bundled).');
}
module.exports = sharp;
