"""A tiny random-weight causal LM with an offline byte-level BPE tokenizer, saved to a folder.

Loaded back through the same path as real checkpoints (``TransformersBackend.load(folder)``).
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "BOX0 = Loc(image=IMAGE, object='dog')\nANSWER0 = Count(box=BOX0)\n",
    "FINAL_RESULT = Result(var=ANSWER0)\n",
    "IMAGE0 = Blur(image=IMAGE, object=OBJ0)\nANSWER1 = Eval(expr=\"'yes' if {ANSWER0} > 0 else 'no'\")\n",
    "Question: How many faces are in the picture?\nProgram:\n",
]


def build_tiny_lm(folder: Path, seed: int = 0) -> Path:
    """Write a tokenizer and a 2-layer Llama with random weights to ``folder``; return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    rust = Tokenizer(models.BPE())
    rust.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    rust.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    rust.train_from_iterator(CORPUS * 4, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=rust, bos_token="<s>", eos_token="</s>")
    tok.save_pretrained(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder
