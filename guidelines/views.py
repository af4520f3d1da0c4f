from django.views.generic import TemplateView


class GuidelineListView(TemplateView):
    template_name = "guidelines/guideline_list.html"
