/** Default seq2seq models for summaries (transformers.js exports on the Hub; not quality-checked by BERT Lens' authors). */

/** For documents: DistilBART fine-tuned on CNN/DailyMail (6 encoder + 6 decoder layers). */
export const DEFAULT_SUMMARY_MODEL = 'Xenova/distilbart-cnn-6-6';
/** For hovers: T5-small (its summarization task prefix `summarize: ` comes from its config). */
export const DEFAULT_HOVER_SUMMARY_MODEL = 'Xenova/t5-small';
