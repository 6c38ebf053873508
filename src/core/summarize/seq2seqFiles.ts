import type { Dtype } from '../../protocol/worker';

/**
 * Files a seq2seq (T5/BART-style) model needs in transformers.js layout, by dtype, for the Hub downloader:
 * the encoder and the merged decoder (generation with the key/value cache) are required; `decoder_model*.onnx`
 * (the decoder without cache) is what cross-attention is read from — about as large as the merged decoder, so
 * ask for it only when the user opens the cross-attention view (`withCrossAttention`).
 */
export function seq2seqFiles(dtype: Dtype, options: { withCrossAttention?: boolean } = {}): { required: string[]; optional: string[] } {
  const q = dtype === 'q8' ? '_quantized' : '';
  return {
    required: ['config.json', 'tokenizer.json', `onnx/encoder_model${q}.onnx`, `onnx/decoder_model_merged${q}.onnx`],
    optional: [
      'generation_config.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      // q8 cross-attention falls back to the fp32 file when the quantised one is missing.
      ...(options.withCrossAttention ? [`onnx/decoder_model${q}.onnx`, ...(q ? ['onnx/decoder_model.onnx'] : [])] : []),
    ],
  };
}
