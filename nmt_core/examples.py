"""Example sentences per source language: the sidebar's picker, and each model card's command line.

The classics come from the teaching material behind this project (TensorFlow's
NMT tutorial, Hands-On ML's beam search and encoder-decoder chapters); the rest
are our own, chosen to show attention at work: reordering, agreement, a long
sentence, a repeated word, a word the model may not know.
"""

EXAMPLES = {
    "spa": [
        "¿Todavía están en casa?",  # TensorFlow NMT tutorial
        "Hace mucho frío aquí.",
        "Me gustan los gatos y los perros.",
        "Ella no sabe nadar, pero su hermano sí.",
        "El libro que me diste ayer es muy interesante.",
        "Tengo que irme a casa antes de que llueva.",
        "¿Dónde está la estación de tren más cercana?",
        "No creo que él venga mañana.",
    ],
    "eng": [
        "I like soccer",  # Hands-On ML: "me gusta el fútbol"
        "I love cats and dogs",  # Hands-On ML: beam search, "me gustan" vs "me gusta"
        "I like soccer and also going to the beach",  # Hands-On ML: a long sentence
        "Are you still at home?",
        "The cat is sleeping on the bed.",
        "She doesn't know how to swim, but her brother does.",
        "I have to go home before it rains.",
        "Where is the nearest train station?",
    ],
    "fra": [
        "Êtes-vous toujours à la maison ?",
        "Il fait très froid ici.",
        "J'aime les chats et les chiens.",
        "Elle ne sait pas nager, mais son frère sait.",
        "Le livre que tu m'as donné hier est très intéressant.",
        "Où est la gare la plus proche ?",
    ],
    "deu": [
        "Seid ihr noch zu Hause?",
        "Es ist sehr kalt hier.",
        "Ich mag Katzen und Hunde.",
        "Sie kann nicht schwimmen, aber ihr Bruder kann es.",
        "Das Buch, das du mir gestern gegeben hast, ist sehr interessant.",
        "Wo ist der nächste Bahnhof?",
    ],
}


# The sentence a session opens with when its model's language has no examples (or is unknown).
DEFAULT_SENTENCE = EXAMPLES["spa"][0]


def examples_for(language: str | None) -> list[str]:
    """The examples for a source language code (``spa``...); every language's when unknown."""
    if language in EXAMPLES:
        return EXAMPLES[language]
    return [sentence for sentences in EXAMPLES.values() for sentence in sentences]


def first_example(language: str | None) -> str:
    """The sentence a session opens with for a model reading ``language``: its first example."""
    return EXAMPLES[language][0] if language in EXAMPLES else DEFAULT_SENTENCE


def sentence_for_language(sentence: str, language: str | None) -> str:
    """The sentence to keep when the model changes to one reading ``language``.

    An example in another language (the untouched default, or one picked from the
    list) becomes this language's first example: feeding a French model a Spanish
    example only shows noise. A sentence the user wrote is theirs and is kept.
    """
    if language not in EXAMPLES or sentence.strip() in EXAMPLES[language]:
        return sentence
    other_languages = (example for lang, examples in EXAMPLES.items() if lang != language for example in examples)
    return first_example(language) if sentence.strip() in set(other_languages) else sentence
