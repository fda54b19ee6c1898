"""A tiny random vision-language model (LLaVA layout), saved to a folder.

Built like the encoders' tiny checkpoints (random weights, small config,
``save_pretrained``), then optionally taught one reply: a few hundred Adam
steps on the exact conversations a generator will send make greedy decoding
return that text, so a test can follow a local MLLM's reply into a valid
store and on to stage 2.
"""
import json

from fake_gemini import prior_payload

# Short texts keep the taught reply (and the test) short.
REPLY = json.dumps(dict(prior_payload('tiny'), visual_reasoning='AU6, AU12.',
                        prosody_reasoning='Bright.', subtitle_semantics='Glad.',
                        reasoning='Happy.'), separators=(',', ':'))
_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {% for p in m['content'] %}"
    "{% if p['type'] == 'image' %}<image>{% else %}{{ p['text'] }}"
    "{% endif %}{% endfor %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:\n{% endif %}")


def build_tiny_mllm(folder: str, corpus=(), hidden: int = 64) -> str:
    """Save a random tiny LLaVA (CLIP vision + Llama text) and its processor.

    Args:
        corpus: texts the byte-level BPE tokenizer is trained on (the prompt
            and the reply, so they encode in few tokens).
    """
    import torch
    from tokenizers import (Tokenizer, decoders, models, pre_tokenizers,
                            trainers)
    from transformers import (CLIPImageProcessor, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor,
                              PreTrainedTokenizerFast)
    torch.manual_seed(0)
    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(list(corpus) + [REPLY] * 4, trainers.BpeTrainer(
        vocab_size=4000, special_tokens=['<unk>', '<s>', '</s>', '<pad>',
                                         '<image>'],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token='<unk>', bos_token='<s>',
        eos_token='</s>', pad_token='<pad>',
        extra_special_tokens={'image_token': '<image>'})
    small = dict(hidden_size=hidden, intermediate_size=2 * hidden,
                 num_hidden_layers=2, num_attention_heads=2)
    config = LlavaConfig(
        vision_config=dict(model_type='clip_vision_model', image_size=32,
                           patch_size=8, projection_dim=16, **small),
        text_config=dict(model_type='llama', vocab_size=len(tokenizer),
                         num_key_value_heads=2, max_position_embeddings=4096,
                         eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, **small),
        image_token_index=tokenizer.convert_tokens_to_ids('<image>'),
        vision_feature_select_strategy='full', vision_feature_layer=-1)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={'shortest_edge': 32}, crop_size={'height': 32, 'width': 32}),
        tokenizer=tokenizer, patch_size=8, chat_template=_TEMPLATE,
        vision_feature_select_strategy='full', num_additional_image_tokens=1,
    ).save_pretrained(folder)
    return folder


def teach_reply(generator, clips, folder: str, reply: str = REPLY,
                steps: int = 300) -> None:
    """Train ``generator``'s loaded model to answer ``reply`` to ``clips``,
    then save it to ``folder``."""
    import torch
    processor, model = generator._processor, generator._model
    tokenizer = processor.tokenizer
    texts, images = [], []
    for clip in clips:
        content, frames = generator.conversation(clip)
        texts.append(generator.chat_text(content) + reply + tokenizer.eos_token)
        images.append(frames)
    batch = processor(text=texts, images=images, padding=True,
                      return_tensors='pt')
    target_len = len(tokenizer(reply + tokenizer.eos_token)['input_ids'])
    labels = torch.full_like(batch['input_ids'], -100)
    labels[:, -target_len:] = batch['input_ids'][:, -target_len:]
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    # One thread: on a shared 2-core machine more only contend (5-10x slower).
    torch.set_num_threads(1)
    model.train()
    try:
        for _ in range(steps):
            loss = model(**batch, labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if loss.item() < 0.01:  # greedy decoding returns the reply
                break
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(folder)
