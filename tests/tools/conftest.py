"""Tiny random-weight models for the model-backed tools, built offline once per session.

Each builder makes a real model from its config (``small=True``: a few layers of a few
channels; ``small=False``: the released model's architecture, used by scripts/gpu_check.py),
with a tokenizer built from scratch, and saves it the way the real checkpoint is published, so
the tool loads it through exactly the code path a real checkpoint takes. Outputs are
meaningless; tests assert on types, shapes, frames and plumbing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

MOLMO_SPECIALS = [
    "<|endoftext|>",
    "<|image|>",
    "<|video|>",
    "<im_patch>",
    "<im_col>",
    "<im_start>",
    "<low_res_im_start>",
    "<frame_start>",
    "<im_end>",
    "<frame_end>",
    "<im_low>",
]
MOLMO_TEMPLATE = (
    "{% for m in messages %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<|image|>"
    "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}"
    "{% if add_generation_prompt %} Assistant:{% endif %}"
)
YOLO_NAMES = {0: "person", 1: "dog", 2: "cat", 3: "bus"}


def ascii_clip_tokenizer() -> Any:
    """A CLIP tokenizer over printable ASCII characters (no merges)."""
    from transformers import CLIPTokenizer

    vocab: dict[str, int] = {}
    for c in map(chr, range(33, 127)):
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    # Specials last, as in CLIP: OWL treats a query whose first id is 0 as padding.
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[])


def build_owlv2(folder: Path, small: bool = True) -> str:
    """OWLv2 (base/16 at 960 px when not small) with its processor, saved to ``folder``."""
    from transformers import (
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessor,
        Owlv2Processor,
    )

    tok = ascii_clip_tokenizer()
    bos, eos = tok.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"])
    text: dict[str, Any] = {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": eos}
    vision: dict[str, Any] = {}
    if small:
        text.update(vocab_size=len(tok), hidden_size=32, intermediate_size=64)
        text.update(num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=16)
        vision.update(hidden_size=32, intermediate_size=64, num_hidden_layers=2)
        vision.update(num_attention_heads=2, image_size=64, patch_size=16)
    else:  # owlv2-base-patch16(-ensemble) reads 960x960 images
        vision.update(image_size=960, patch_size=16)
    config = Owlv2Config(
        text_config=text, vision_config=vision, projection_dim=32 if small else 512
    )
    side = config.vision_config.image_size
    processor = Owlv2Processor(Owlv2ImageProcessor(size={"height": side, "width": side}), tok)
    import torch

    torch.manual_seed(0)  # the same weights whatever ran before (boxes must reach the padding)
    Owlv2ForObjectDetection(config).eval().save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


def build_grounding_dino(folder: Path, small: bool = True) -> str:
    """Grounding DINO (Swin-T, the 'tiny' release, when not small), saved to ``folder``."""
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    folder.mkdir(parents=True, exist_ok=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "dog", "cat", "bus", "person"]
    words += [chr(c) for c in range(97, 123)] + ["##" + chr(c) for c in range(97, 123)]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    tok = BertTokenizer(str(folder / "vocab.txt"))
    kw: dict[str, Any] = {"use_timm_backbone": False, "use_pretrained_backbone": False}
    if small:
        kw["backbone_config"] = SwinConfig(
            embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=4,
            image_size=64, out_features=["stage2", "stage3", "stage4"],
        )  # fmt: skip
        kw["text_config"] = BertConfig(
            vocab_size=len(words), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=64,
        )  # fmt: skip
        kw.update(d_model=32, encoder_layers=1, decoder_layers=2, encoder_ffn_dim=64)
        kw.update(decoder_ffn_dim=64, encoder_attention_heads=2, decoder_attention_heads=2)
        kw.update(num_queries=10, encoder_n_points=2, decoder_n_points=2, max_text_len=32)
    size = {"shortest_edge": 128, "longest_edge": 192} if small else None
    processor = GroundingDinoProcessor(GroundingDinoImageProcessor(size=size), tok)
    GroundingDinoForObjectDetection(GroundingDinoConfig(**kw)).eval().save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


def build_yolo(folder: Path, yaml: str = "yolo11n.yaml") -> str:
    """A YOLO detector with random weights and a few named classes, saved as a .pt file."""
    from ultralytics import YOLO

    folder.mkdir(parents=True, exist_ok=True)
    model = YOLO(yaml)
    model.model.names = dict(YOLO_NAMES)
    path = folder / "yolo_tiny.pt"
    model.save(str(path))
    return str(path)


def sam2_config(small: bool = True) -> Any:
    """SAM 2.1 config: hiera-large when not small, else a cut-down hiera-tiny (fast on CPU)."""
    import sam2
    from omegaconf import OmegaConf

    name = "sam2.1_hiera_t.yaml" if small else "sam2.1_hiera_l.yaml"
    cfg = OmegaConf.load(Path(sam2.__file__).parent / "configs" / "sam2.1" / name)
    if small:
        trunk = cfg.model.image_encoder.trunk
        trunk.embed_dim, trunk.stages, trunk.global_att_blocks = 16, [1, 1, 2, 1], [3]
        cfg.model.image_encoder.neck.backbone_channel_list = [128, 64, 32, 16]
        cfg.model.memory_attention.num_layers = 1
    return cfg


def build_sam2(folder: Path, small: bool = True) -> str:
    """A SAM 2 checkpoint folder (config .yaml + .pt in the released {'model': ...} form)."""
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    folder.mkdir(parents=True, exist_ok=True)
    cfg = sam2_config(small)
    OmegaConf.save(cfg, folder / "sam2_test.yaml")
    model = instantiate(OmegaConf.create(OmegaConf.to_container(cfg, resolve=True)).model)
    torch.save({"model": model.state_dict()}, folder / "sam2_test.pt")
    return str(folder)


def molmo_tokenizer() -> Any:
    """A byte-less Qwen2 BPE tokenizer over printable ASCII, plus Molmo 2's special tokens."""
    from transformers import Qwen2Tokenizer

    vocab = {chr(c): i for i, c in enumerate(range(32, 127))}
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=[],
        unk_token=None,
        eos_token=MOLMO_SPECIALS[0],
        pad_token=MOLMO_SPECIALS[0],
    )
    tok.add_special_tokens({"additional_special_tokens": MOLMO_SPECIALS[1:]})
    return tok


def molmo_config(tok: Any, small: bool = True) -> Any:
    """Molmo 2 config: the 4B release's shapes when not small (Qwen3-4B text model)."""
    from transformers import Molmo2Config

    ids = {s: tok.convert_tokens_to_ids(s) for s in MOLMO_SPECIALS}
    kw: dict[str, Any] = {}
    if small:
        kw["vision_config"] = dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=2, head_dim=16, image_size=[28, 28], patch_size=14,
        )  # fmt: skip
        kw["adapter_config"] = dict(
            vit_layers=[-1], hidden_size=32, num_attention_heads=2, num_key_value_heads=2,
            head_dim=16, intermediate_size=64, text_hidden_size=32,
        )  # fmt: skip
        kw["text_config"] = dict(
            hidden_size=32, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
            vocab_size=95, additional_vocab_size=16, num_hidden_layers=2, intermediate_size=64,
        )  # fmt: skip
    else:
        kw["adapter_config"] = dict(text_hidden_size=2560, intermediate_size=9728)
        kw["text_config"] = dict(
            hidden_size=2560, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
            num_hidden_layers=36, intermediate_size=9728,
        )  # fmt: skip
    return Molmo2Config(
        image_start_token_id=ids["<im_start>"],
        low_res_image_start_token_id=ids["<low_res_im_start>"],
        image_end_token_id=ids["<im_end>"],
        image_patch_id=ids["<im_patch>"],
        frame_start_token_id=ids["<frame_start>"],
        frame_end_token_id=ids["<frame_end>"],
        **kw,
    )


def molmo_processor(tok: Any, small: bool = True) -> Any:
    """Molmo 2's processor around ``tok`` with a minimal chat template."""
    from transformers import Molmo2ImageProcessor, Molmo2Processor
    from transformers.models.molmo2.video_processing_molmo2 import Molmo2VideoProcessor

    image = (
        Molmo2ImageProcessor(max_crops=2, size={"height": 28, "width": 28}, overlap_margins=[0, 0])
        if small
        else Molmo2ImageProcessor()
    )
    return Molmo2Processor(image, Molmo2VideoProcessor(), tok, chat_template=MOLMO_TEMPLATE)


def build_molmo(folder: Path) -> str:
    """A tiny Molmo 2 with its processor, saved to ``folder``."""
    from transformers import Molmo2ForConditionalGeneration

    tok = molmo_tokenizer()
    model = Molmo2ForConditionalGeneration(molmo_config(tok, small=True)).eval()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.eos_token_id
    model.save_pretrained(folder)
    molmo_processor(tok, small=True).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def owlv2_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_owlv2(tmp_path_factory.mktemp("owlv2"))


@pytest.fixture(scope="session")
def grounding_dino_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_grounding_dino(tmp_path_factory.mktemp("gdino"))


@pytest.fixture(scope="session")
def yolo_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_yolo(tmp_path_factory.mktemp("yolo"))


@pytest.fixture(scope="session")
def sam2_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_sam2(tmp_path_factory.mktemp("sam2"))


@pytest.fixture(scope="session")
def molmo_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_molmo(tmp_path_factory.mktemp("molmo2"))
