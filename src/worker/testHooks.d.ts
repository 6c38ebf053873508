/** True in development builds, false in the production build (esbuild `define`): test hooks are compiled out. */
declare const BERT_LENS_TEST_HOOKS: boolean;
