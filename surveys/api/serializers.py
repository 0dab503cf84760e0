from rest_framework import serializers

from ..models import Question, Survey, SurveyWave, WaveTarget


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "position", "kind", "text", "text_en", "choices", "required", "rate", "check_answer"]


class SurveySerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Survey
        fields = ["id", "name", "name_en", "intro", "intro_en", "created_at", "questions"]


class WaveTargetSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)

    class Meta:
        model = WaveTarget
        fields = ["id", "unit", "unit_code", "quota", "token"]


class SurveyWaveSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveyWave
        fields = ["id", "survey", "campaign", "name", "starts_on", "ends_on", "status", "created_at"]


class RateSerializer(serializers.Serializer):
    rate = serializers.CharField()
    answered = serializers.IntegerField()
    positive = serializers.IntegerField()
    percent = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    margin = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True,
                                      help_text="95 % margin in percentage points")


class SurveyResultSerializer(serializers.Serializer):
    target = serializers.IntegerField(source="target.pk")
    wave = serializers.IntegerField(source="target.wave_id")
    unit = serializers.IntegerField(source="target.unit_id")
    unit_code = serializers.CharField(source="target.unit.code")
    quota = serializers.IntegerField(source="target.quota")
    n = serializers.IntegerField()
    final = serializers.BooleanField()
    score = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    rates = RateSerializer(source="rate_list", many=True)


class PublicQuestionSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="the answer's key in `answers`")
    kind = serializers.CharField()
    text = serializers.CharField(source="label")
    required = serializers.BooleanField()
    options = serializers.SerializerMethodField()

    def get_options(self, obj) -> list[dict]:
        return [{"value": value, "label": str(label)} for value, label in obj.options()]


class PublicSurveySerializer(serializers.Serializer):
    survey = serializers.CharField()
    unit = serializers.CharField()
    questions = PublicQuestionSerializer(many=True)


class PublicAnswerSerializer(serializers.Serializer):
    device = serializers.RegexField(r"^[A-Za-z0-9_-]{8,64}$",
                                    help_text="an opaque id of the answering device (one answer per device and wave)")
    answers = serializers.DictField(child=serializers.JSONField(), help_text='e.g. {"q12": "yes", "q13": ["1", "2"]}')


class PublicAnswerResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    counted = serializers.BooleanField(help_text="false when the answer failed the check question (kept, void)")
