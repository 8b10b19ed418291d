"""An NLU step that hides personal data from the intent classifier.

Found while building the staff log: "my son was tortured in detention, you can call me on
+41 79 123 45 67" was classified ``out_of_scope`` (the digits outweigh the words), while the
same sentence with ``[PHONE]`` was a disclosure. Visitors who disclose abuse are exactly the
ones who leave a number, so the NLU sees the text with the placeholders of
:mod:`privacy.redaction` instead. Only the NLU's copy of the text changes: the message
Rasa keeps (and ``from_text`` slots such as the enquiry email) still has the original.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from privacy.redaction import redact
from server.components.stateless import StatelessComponent


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class PersonalDataMasker(StatelessComponent):
    """Replaces email addresses, phone numbers, card numbers, IBANs and IP addresses in the
    message text with placeholders, before tokenisation."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and not text.startswith("/"):
                message.set(TEXT, redact(text))
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
