from nmt_core.text import BOS_ID, EOS_ID, PAD_ID, UNK_ID, normalize, train_tokenizer


def test_normalize_folds_compatibility_characters_and_spaces():
    assert normalize("Bonjour\u202f!") == "Bonjour !"  # French narrow no-break space
    assert normalize("  ¿Todavía\t están   en casa?\n") == "¿Todavía están en casa?"
    assert normalize("ｆｕｌｌ ｗｉｄｔｈ") == "full width"
    assert normalize("zero\u200bwidth") == "zerowidth"  # format character dropped
    assert normalize("e\u0301") == "é"  # composed


def test_normalize_empty_and_whitespace_only():
    assert normalize("") == ""
    assert normalize(" \t\n ") == ""


def test_tokenizer_special_ids_and_roundtrip():
    sentences = ["¿Todavía están en casa?", "Tom está aquí.", "Me gustan los gatos."] * 50
    tokenizer = train_tokenizer(sentences, vocab_size=60)
    assert (tokenizer.sp.pad_id(), tokenizer.sp.unk_id(), tokenizer.sp.bos_id(), tokenizer.sp.eos_id()) == (
        PAD_ID, UNK_ID, BOS_ID, EOS_ID)
    ids = tokenizer.encode("Tom está en casa.")
    assert ids and all(i >= 0 for i in ids)
    assert tokenizer.decode(ids) == "Tom está en casa."
    assert tokenizer.decode([*ids, EOS_ID, PAD_ID]) == "Tom está en casa."
    assert tokenizer.pieces([EOS_ID, UNK_ID]) == ["</s>", "<unk>"]


def test_unseen_characters_become_unk():
    tokenizer = train_tokenizer(["abc abd abe"] * 30, vocab_size=20)
    ids = tokenizer.encode("abc 😀 日本")
    assert UNK_ID in ids
