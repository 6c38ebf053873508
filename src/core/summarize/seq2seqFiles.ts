import type { Dtype } from '../../protocol/worker';

/**
 * Files a seq2seq (T5/BART-style) model needs in transformers.js layout, by dtype, for the Hub downloader:
 * the encoder and the merged decoder (generation with the key/value cache). `decoder_model*.onnx` (the decoder
 * without cache, which cross-attention is read from) is about as large as the merged decoder, so it is fetched on
 * its own, only when the user opens the cross-attention view.
 */
export function seq2seqFiles(dtype: Dtype): { required: string[]; optional: string[] } {
  const q = dtype === 'q8' ? '_quantized' : '';
  return {
    required: ['config.json', 'tokenizer.json', `onnx/encoder_model${q}.onnx`, `onnx/decoder_model_merged${q}.onnx`],
    optional: [
      'generation_config.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
    ],
  };
}
