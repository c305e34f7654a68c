# Databricks notebook source
# MAGIC %md
# MAGIC # MLflow を使用した実験の追跡
# MAGIC
# MAGIC > **注:** このノートブックのコード セルは英語版と同じです。そのため、セルの出力とウィジェットのラベルは英語で表示されます。
# MAGIC
# MAGIC ## 実験を実行する
# MAGIC この演習では、NYC タクシーのデータセットを使用して、ニューヨーク市タクシー・リムジン委員会 (NYC Taxi & Limousine Commission) のグリーン タクシーの乗車記録の一部から、タクシー乗車の合計料金を予測するモデルをトレーニングします。1 つの線形回帰モデルの **ハイパーパラメーター** を変えながら複数のバリエーションをトレーニングし、より良いパフォーマンスを目指します。
# MAGIC
# MAGIC また、MLflow を使用して、各試行のパラメーター、メトリック、モデル、プロットをログに記録します。結果をスプレッドシートに手作業で記録することもできますが、非効率で間違いやすいため、トレーニング コードのできるだけ近くで記録することをお勧めします。MLflow では **実験** を作成します。実験は **実行** の集まりで、1 つの実行が 1 回のトレーニングの試行です。ここでは、同じアルゴリズムとデータに対して実行ごとに異なるハイパーパラメーターの組み合わせを試すので、どれが最も良い結果になるかを比較できます。実験では、実行ごとに別のアルゴリズムを試す、実行ごとにデータの別のサブセットを使うなど、ほかの種類の比較を行うこともできます。

# COMMAND ----------

# MAGIC %md
# MAGIC ### コンピューティングを選ぶ
# MAGIC このノートブックを、**サーバーレス** コンピューティング (環境バージョン 4 以降。Databricks Free Edition にはサーバーレスしかありません) か、**Databricks Runtime for Machine Learning** (LTS の ML ランタイム: 15.4、16.4、17.3、または 18) を実行しているクラスターにアタッチします。どちらにも MLflow、scikit-learn、pandas、matplotlib がインストールされています。
# MAGIC
# MAGIC 次のセルでは、ラボのセットアップ ノートブックを実行します。このノートブックは `load_trips()` といくつかのヘルパー関数を定義します。

# COMMAND ----------

# DBTITLE 1,ラボのセットアップ ノートブックを実行する
# MAGIC %run ./includes/setup

# COMMAND ----------

# DBTITLE 1,ライブラリをインポートする
import inspect
import os
import tempfile
import uuid
from datetime import datetime, timezone

import matplotlib.pyplot as plt
import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

print(f"Loaded libraries: MLflow {mlflow.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
print(f"Compute: {compute_description()}")

# COMMAND ----------

# MAGIC %md
# MAGIC ### パラメーター
# MAGIC このラボには 2 つのパラメーターがあります。既定値を使用するには空白のままにします。ジョブ (またはローカル ランナーの `--param`) で設定することもできます。
# MAGIC - `data_path`: 乗車データの CSV ファイル。空白の場合、ワークスペースでは、コースの最初のラボで作成した `nyc_taxi` テーブルがあればそれを使用します。なければ、ノートブックと同じリポジトリにあるラボの CSV ファイル `data/nyc-taxi.csv` を使用し、それもなければダウンロードします。どちらの場合もチェックサムを確認します。`synthetic:10000` を指定すると、代わりに 10,000 件の乗車データを合成します。
# MAGIC - `experiment_name`: 実行を受け取る MLflow の実験。空白の場合は、ワークスペースでは `/Users/<you>/dp090-using-mlflow-to-track-experiments`、それ以外の環境では `dp090-using-mlflow-to-track-experiments` です。
# MAGIC
# MAGIC 実験は実行を保持し続けます。このノートブックをもう一度実行すると、実験にはすべてのセッションの実行が含まれます。そこでこのセルは、ノートブックのこのセッションを表す ID `lab_session` も作成し、このセッションで開始するすべての実行にその ID をタグとして付けます。後で、このタグを使ってこのセッションの実行を選び出します。このセルをもう一度実行すると、新しいセッションが始まります。

# COMMAND ----------

# DBTITLE 1,パラメーター: データと実験
dbutils.widgets.text("data_path", "", "Trips CSV (blank: the lab's data)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")

data_path = dbutils.widgets.get("data_path")
experiment_name = dbutils.widgets.get("experiment_name") or default_experiment_name()

# Every run this notebook starts goes to this experiment; it is created if it does not exist yet.
experiment = mlflow.set_experiment(experiment_name)
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")

# The time this session started, and a few random characters in case two sessions start in the same second.
lab_session = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
print(f"Lab session: {lab_session}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## トレーニング データを読み込む
# MAGIC
# MAGIC データは、[Azure Open Datasets](https://azure.microsoft.com/services/open-datasets/) にある NYC Taxi & Limousine Commission のグリーン タクシーの乗車記録の一部で、祝日と気象のデータが追加されています。各行が 1 回のタクシー乗車です。乗客数、乗車距離、時間帯、曜日、月、祝日と気象の情報、そしてモデルが予測する、乗車に支払われた合計金額が含まれます。
# MAGIC
# MAGIC 次のセルを実行して、データを pandas DataFrame に読み込み、内容を確認します。セルはデータの取得元を出力します。**SYNTHETIC** と表示された場合は、`data_path` で同じ列を持つ合成の乗車データを指定しています。その場合、この後に表示される数値は、実際のデータで実行した場合とは異なります。

# COMMAND ----------

# DBTITLE 1,データを読み込む
trips, trips_source = load_trips(data_path)
print(f"Loaded {len(trips):,} trips from {trips_source}")
display(trips)

# COMMAND ----------

# MAGIC %md
# MAGIC ### データの特徴量を作成する
# MAGIC
# MAGIC 次のセルでは、コースの前のラボと同じようにデータを準備します。
# MAGIC - `hour_of_day` を、その正弦と余弦の 2 つの周期的な特徴量にします。これにより、23:00 と 00:00 が近い値になります。
# MAGIC - `totalAmount` (ラベル) のない行を削除し、`isPaidTimeOff` を整数にします。
# MAGIC - 欠損している `passengerCount` を中央値で置き換え、数値列を [0, 1] の範囲にスケーリングします。
# MAGIC - カテゴリ列をワンホット エンコードします。
# MAGIC
# MAGIC 補完、スケーリング、エンコードは、`ColumnTransformer` 内の scikit-learn のステップです。これらはトレーニング データだけに当てはめられ (fit)、モデルの一部になるため、ログに記録されたモデルは以下の列をそのまま受け取ります。最後に、すべての実行で同じ分割になるように固定のシードを使用して、データをトレーニング用に 70%、テスト用に 30% に分割します。

# COMMAND ----------

# DBTITLE 1,特徴量を作成して分割する
features = trips.dropna(subset=["totalAmount"]).copy()

features["hour_sine"] = np.sin(features["hour_of_day"] * (2.0 * np.pi / 24))
features["hour_cosine"] = np.cos(features["hour_of_day"] * (2.0 * np.pi / 24))
features = features.drop(columns=["hour_of_day"])

features["isPaidTimeOff"] = features["isPaidTimeOff"].astype(int)
# A trip on no holiday has no holiday name; call that category "None", as the course's table does.
features["normalizeHolidayName"] = features["normalizeHolidayName"].fillna("None")

numerical_cols = ["passengerCount", "tripDistance", "snowDepth", "precipTime", "precipDepth", "temperature",
                  "hour_sine", "hour_cosine"]  # fmt: skip
categorical_cols = ["day_of_week", "month_num", "normalizeHolidayName", "isPaidTimeOff"]
label_column = "totalAmount"
feature_columns = numerical_cols + categorical_cols

# Whole numbers become floats: MLflow records the model's input columns and types (its signature), and a
# column of integers could not take a missing value at prediction time.
number_cols = [column for column in feature_columns if column != "normalizeHolidayName"]
features[number_cols] = features[number_cols].astype(float)

featurizer = ColumnTransformer([
    ("numerical", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", MinMaxScaler())]),
     numerical_cols),
    ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical_cols),
])  # fmt: skip

train_df, test_df = train_test_split(features, test_size=0.3, random_state=97)
print(f"Created datasets: {len(train_df):,} training rows, {len(test_df):,} test rows")

# COMMAND ----------

# MAGIC %md
# MAGIC ### 回帰の品質をプロットする
# MAGIC
# MAGIC この関数は、モデルのパフォーマンスを視覚的に把握するためのものです。テスト セットの各乗車を、実際の料金 (x) と予測した料金 (y) の位置に赤い点として対数軸上に描きます。完璧なモデルなら、すべての点が青い対角線上に並びます。関数はプロットを PNG ファイルとして保存し、トレーニング関数がそのファイルを MLflow にログとして記録します。

# COMMAND ----------

# DBTITLE 1,プロット関数
def plot_regression_quality(actual, predicted, png_path):
    figure, axes = plt.subplots(figsize=(8, 8))
    axes.scatter(actual, predicted, c="crimson", s=6, alpha=0.5)
    axes.set_xscale("log")
    axes.set_yscale("log")

    # Log axes show positive values only; the diagonal spans the positive range of both.
    values = np.concatenate([np.asarray(actual), np.asarray(predicted)])
    low, high = values[values > 0].min(), values.max()
    axes.plot([low, high], [low, high], "b-")
    axes.set_xlabel("True values", fontsize=15)
    axes.set_ylabel("Predictions", fontsize=15)

    figure.savefig(png_path)
    plt.close(figure)
    return figure


print("Created regression quality plot function")

# COMMAND ----------

# MAGIC %md
# MAGIC ### MLflow の実行を作成する
# MAGIC
# MAGIC 次の関数は、`train_df` で線形回帰モデルをトレーニングし、`test_df` で評価します。
# MAGIC
# MAGIC この関数を何度か呼び出します。呼び出しのたびに 3 つのハイパーパラメーターを設定します。名前は、このラボの元のバージョンが使用していた Spark ML の `LinearRegression` に合わせています。
# MAGIC - `elastic_net_param`: ElasticNet の混合パラメーター。0 は純粋な L2 ペナルティ (リッジ)、1 は純粋な L1 ペナルティ (ラッソ) です。
# MAGIC - `reg_param`: そのペナルティの強さ (正則化)。
# MAGIC - `max_iter`: ソルバーが行える反復の最大回数。
# MAGIC
# MAGIC 関数は、これらを次のように scikit-learn に対応付けます。`reg_param = 0` の場合はペナルティがありません。そのとき Spark は、`max_iter` の値にかかわらず通常の最小二乗法を閉形式で解きます (ただし、ほかの特徴量の組み合わせで表せる特徴量がない場合に限ります。Spark のワンホット エンコーダーが各列のカテゴリを 1 つ削除するのはそのためです)。scikit-learn の `LinearRegression` も同じです。それ以外の場合、モデルは `ElasticNet(l1_ratio=elastic_net_param, alpha=reg_param, max_iter=max_iter)` になります。Spark はペナルティを適用する前にすべての特徴量を標準化します。`StandardScaler` ステップも同じことを行い、ペナルティがすべての特徴量に等しく効くようにします。
# MAGIC
# MAGIC この移植は近似的なものです。Spark は当てはめ (fit) の際に、ラベルをその標準偏差 `std(label)` で割ることも行います。そのため、ペナルティの L1 部分は scikit-learn とほぼ同じになりますが、L2 部分は弱くなります。おおよそ、Spark の L2 部分は scikit-learn の L2 部分を `std(label)` で割ったものです。したがって、実行 2 (純粋な L1) は Spark での実行 2 に近くなりますが、実行 3 では、ペナルティの L2 の半分が、このノートブックでは Spark より約 `std(label)` 倍強くなります。MLflow がログに記録するパラメーターが scikit-learn の使用した値そのものになるように、ノートブックは直接の対応付けのままにしています。この違いがどの程度影響するかは、実行 3 の後のセルで示します。
# MAGIC
# MAGIC 関数は 1 つの MLflow の実行の中で、次のものを記録します。
# MAGIC * タグ `lab_session` (`mlflow.start_run` に渡し、実行がこのセッションのものであることを示します)
# MAGIC * パラメーター (`mlflow.log_params` を使用)
# MAGIC * メトリック RMSE、MAE、R² (`mlflow.log_metrics` を使用)
# MAGIC * モデル (`mlflow.sklearn.log_model` を使用)
# MAGIC * 任意のファイル。ここでは、予測金額と実際の金額のプロット (`mlflow.log_artifact` を使用)
# MAGIC
# MAGIC **ヒント:** 新しい MLflow の実行を作成するには `with mlflow.start_run():` を使用します。これは、ノートブックのセルで MLflow を使用するときに推奨される方法です。コードが完了しても失敗しても `with` ブロックが実行を終了するため、`mlflow.end_run()` を呼び出す必要はありません。
# MAGIC
# MAGIC ランタイムの MLflow のバージョンによって異なる点が 2 つあり、コードはどちらも見える形で処理しています。
# MAGIC - MLflow 3 (ML ランタイム 17.3 LTS 以降) では、ログに記録するモデルに `name=` で名前を付けます。MLflow 2 (15.4 LTS と 16.4 LTS) では、同じ引数を `artifact_path=` と呼びます。どちらの場合も、後で `runs:/<run_id>/model` でそのモデルを指定できます。MLflow 3 はモデルを、実行にリンクされたログ記録済みモデル (logged model) として保持し、MLflow 2 は実行の成果物の中に保持します。
# MAGIC - 最近の MLflow のリリースは、Databricks の外では scikit-learn モデルを安全な *skops* 形式で保存します。この形式は、信頼するように指定された型だけを読み込みます。パイプラインの補完器は `numpy.dtype` を保持しているため、MLflow に `skops_trusted_types` 引数がある場合、コードはその型を信頼済みとして指定します。古いリリースはモデルを pickle で保存し、この引数はありません。
# MAGIC
# MAGIC モデルの `pip_requirements` (モデルに必要なパッケージと、そのモデルをトレーニングしたときのバージョン) を渡すと、MLflow がそれを調べるのにかかる時間を、実行ごとに数秒節約できます。

# COMMAND ----------

# DBTITLE 1,トレーニング関数
MLFLOW_MAJOR_VERSION = int(mlflow.__version__.split(".")[0])
model_location = {"name": "model"} if MLFLOW_MAJOR_VERSION >= 3 else {"artifact_path": "model"}

if "skops_trusted_types" in inspect.signature(mlflow.sklearn.log_model).parameters:
    model_format = {"skops_trusted_types": ["numpy.dtype"]}
else:
    model_format = {}

model_requirements = pinned_requirements(["mlflow", "scikit-learn", "pandas", "numpy", "cloudpickle", "skops"])


def eval_metrics(actual, predicted):
    rmse = float(np.sqrt(mean_squared_error(actual, predicted)))
    mae = float(mean_absolute_error(actual, predicted))
    r2 = float(r2_score(actual, predicted))
    return rmse, mae, r2


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)  # before a run is started for them
    if reg_param == 0:
        regression = LinearRegression()
    else:
        regression = ElasticNet(l1_ratio=elastic_net_param, alpha=reg_param, max_iter=max_iter)
    model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                      ("regression", regression)])  # fmt: skip

    # Start an MLflow run tagged with this session; the "with" keyword ensures we'll close the run even if
    # this cell crashes
    with mlflow.start_run(tags={"lab_session": lab_session}) as run:
        model.fit(train_df[feature_columns], train_df[label_column])
        predictions = model.predict(test_df[feature_columns])
        (rmse, mae, r2) = eval_metrics(test_df[label_column], predictions)

        # Print out model metrics
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}):")  # fmt: skip
        if reg_param == 0:
            print("  solved in closed form (ordinary least squares); max_iter does not apply")
        else:
            print(f"  the solver took {regression.n_iter_} of at most {max_iter} iterations")
        print(f"  RMSE: {rmse:.4f}")
        print(f"  MAE:  {mae:.4f}")
        print(f"  R2:   {r2:.4f}")

        # Log hyperparameters and evaluation metrics for the MLflow UI
        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model itself, with the input columns and output it expects (its signature)
        signature = infer_signature(test_df[feature_columns], predictions)
        mlflow.sklearn.log_model(model, **model_location, **model_format, signature=signature,
                                 pip_requirements=model_requirements)

        # Generate a plot and log it (an artifact: any file you want to keep with the run)
        png_path = os.path.join(tempfile.mkdtemp(), "LinearRegressionPrediction.png")
        figure = plot_regression_quality(test_df[label_column], predictions, png_path)
        mlflow.log_artifact(png_path)

    return {"run_id": run.info.run_id, "rmse": rmse, "mae": mae, "r2": r2,
            "predictions": predictions, "figure": figure}  # fmt: skip


print("Created training and evaluation function")

# COMMAND ----------

# MAGIC %md
# MAGIC ## さまざまなパラメーターで試す
# MAGIC
# MAGIC さまざまなパラメーターで `train_nyc_taxi` を呼び出します。後で、これらの各実行を MLflow の実験で確認します。最初の実行はペナルティをまったく使用しない (`reg_param = 0`) ため、通常の最小二乗法になり、`max_iter = 1` は制限になりません。

# COMMAND ----------

# DBTITLE 1,実行 1: 最小二乗法
# No penalty (regularization parameter 0.0): least squares in closed form, so max_iter = 1 does not apply
run_1 = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.0, 1)

# COMMAND ----------

# MAGIC %md
# MAGIC R² は、テスト データにおける合計金額の分散のうち、モデルが説明できる割合です (1 なら完璧です)。二乗平均平方根誤差 (RMSE) と平均絶対誤差 (MAE) は、予測がドル単位でどれだけずれているかを見積もります。RMSE は、MAE よりも大きく外れた値に大きなペナルティを与えます。ここでは、RMSE と R² を品質の尺度とします。次のセルは、この実行の数値を文章で示します。

# COMMAND ----------

print(f"The model explains {run_1['r2']:.0%} of the variance of totalAmount in the test data.")
print(f"Its predictions are off by ${run_1['mae']:.2f} on average (MAE); RMSE is ${run_1['rmse']:.2f}.")

# COMMAND ----------

# MAGIC %md
# MAGIC プロットは、テスト セットの各乗車 (赤) を完璧な予測の線 (青) と比べて示しています。点が線に近いほど良いモデルです。線から遠い点は、モデルが大きく外した乗車です。

# COMMAND ----------

display(run_1["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ハイパーパラメーターの組み合わせを変えてモデルを試すのは、関数への入力を変えるだけで簡単にできます。この実行では、強さ 0.3 の純粋な L1 ペナルティ (`elastic_net_param = 1.0`) を使用し、ソルバーに 50 回の反復を許可します。
# MAGIC
# MAGIC ソルバーが `max_iter` 回の反復以内に収束しなかった場合、scikit-learn はセルの下に `ConvergenceWarning` を表示します。これはエラーではなく警告です。モデルはトレーニングされてログに記録されますが、これらのハイパーパラメーターでの最適な当てはめにはまだ達していません。どちらの場合も、関数はソルバーが行った反復の回数を出力します。

# COMMAND ----------

# DBTITLE 1,実行 2: L1 ペナルティ
# L1 penalty, regularization parameter 0.3, at most 50 iterations
run_2 = train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)

# COMMAND ----------

# MAGIC %md
# MAGIC 最初の実行と比べてどうでしょうか。RMSE と MAE は低いほど、R² は高いほど良い結果です。次のセルは、2 つの実行のメトリックを比較します。

# COMMAND ----------

def compare_runs(new, old, new_name, old_name):
    for metric, better in [("rmse", "lower"), ("mae", "lower"), ("r2", "higher")]:
        change = new[metric] - old[metric]
        if change == 0:
            verdict = "the same"
        elif (change < 0) == (better == "lower"):
            verdict = "better"
        else:
            verdict = "worse"
        print(f"{metric.upper():>4}: {old_name} {old[metric]:.4f}, {new_name} {new[metric]:.4f} "
              f"({change:+.4f}: {new_name} is {verdict})")  # fmt: skip


compare_runs(run_2, run_1, "run 2", "run 1")

# COMMAND ----------

display(run_2["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC プロットの左下隅、料金の安い乗車が集まっているあたりを見てください。そこにある赤い点の大部分が青い線より上にある場合、モデルは安い乗車の料金を高く予測しすぎています。つまり、予測が高い方に偏っています。次のセルは、テスト セットの乗車のうち、料金の最も安い 4 分の 1 について、各モデルが実際の料金より高く予測した割合を数えます。

# COMMAND ----------

def share_predicted_high_on_cheap_rides(result):
    actual = test_df[label_column].to_numpy()
    cheap = actual <= np.quantile(actual, 0.25)
    return float(np.mean(result["predictions"][cheap] > actual[cheap]))


for name, result in [("run 1", run_1), ("run 2", run_2)]:
    print(f"{name}: predicted more than the actual fare for {share_predicted_high_on_cheap_rides(result):.0%} "
          "of the cheapest quarter of rides")  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC 3 回目の実行では、L1 と L2 のペナルティを半分ずつ混ぜ (`elastic_net_param = 0.5`)、より強い 0.9 のペナルティと最大 1000 回の反復を使用します。

# COMMAND ----------

# DBTITLE 1,実行 3: L1 と L2 の混合
# 50/50 mixed L1 and L2, regularization parameter 0.9, at most 1000 iterations
run_3 = train_nyc_taxi(train_df, test_df, label_column, 0.5, 0.9, 1000)

# COMMAND ----------

compare_runs(run_3, run_1, "run 3", "run 1")
compare_runs(run_3, run_2, "run 3", "run 2")
print(f"run 3: predicted more than the actual fare for {share_predicted_high_on_cheap_rides(run_3):.0%} "
      "of the cheapest quarter of rides")  # fmt: skip

# COMMAND ----------

display(run_3["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ### Spark とはどのくらい近いか
# MAGIC
# MAGIC 実行 3 は、scikit-learn への移植の違いが効いてくる実行です (上の「*MLflow の実行を作成する*」を参照)。ペナルティの半分が L2 で、scikit-learn はその半分をそのままの強さで適用しますが、Spark ではおおよそラベルの標準偏差で割られます。次のセルは、Spark と同じようにスケーリングしたペナルティで実行 3 のモデルをもう一度当てはめ (セットアップ ノートブックの `spark_like_penalty` が scikit-learn の `alpha` と `l1_ratio` を求めます)、その R² を実行 3 の R² と並べて出力します。このセルは MLflow の実行を開始しないので、セッションの実行は 3 つのままです。3 つの実行についての Spark 自身の数値は、ラボの Spark ML ノートブックで得られます。このノートブックは、Spark の `LinearRegression` で 3 つの実行のモデルをトレーニングします。

# COMMAND ----------

# DBTITLE 1,Spark のペナルティのスケーリングでの実行 3
label_std = float(train_df[label_column].std())
alpha, l1_ratio = spark_like_penalty(elastic_net_param=0.5, reg_param=0.9, label_std=label_std)
spark_like_model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                             ("regression", ElasticNet(l1_ratio=l1_ratio, alpha=alpha, max_iter=1000))])  # fmt: skip
spark_like_model.fit(train_df[feature_columns], train_df[label_column])
spark_like_r2 = r2_score(test_df[label_column], spark_like_model.predict(test_df[feature_columns]))

print(f"Standard deviation of {label_column} in the training data: {label_std:.2f}")
print(f"Run 3 as logged:             ElasticNet(l1_ratio=0.5, alpha=0.9), R2 {run_3['r2']:.4f}")
print(f"Run 3 with Spark's scaling:  ElasticNet(l1_ratio={l1_ratio:.3f}, alpha={alpha:.3f}), R2 {spark_like_r2:.4f}")

# COMMAND ----------

# MAGIC %md
# MAGIC これで、この情報は MLflow 追跡サーバーに保存されました。次に、この情報を 2 つの方法で扱います。ユーザー インターフェイスで実験を確認する方法と、コードから MLflow を使用する方法です。
# MAGIC
# MAGIC ## 実験のメトリックを確認する
# MAGIC
# MAGIC ### Databricks UI を使用して実験、実行、および実行の詳細を表示する
# MAGIC
# MAGIC 1. ノートブックの右側のサイド パネルで **[実験]** アイコン (フラスコ) を選択します。パネルには、このノートブックがログを記録した実験の実行が、パラメーターとメトリックと共に一覧表示されます。このセッションの 3 つの実行のほか、以前のセッションがあればその実行も表示されます。このセッションの 3 つの実行 (最も新しい 3 つ) を比較してください。RMSE が最も低いのはどの実行でしょうか。
# MAGIC 1. 実行の名前を選択して、その **実行の詳細ページ** を開きます。パラメーターとメトリック、タグ (その中に `lab_session` があります。タグは `mlflow.set_tags()` で設定することも、後から UI で追加することもできます)、および **成果物** が表示されます。成果物の中には `LinearRegressionPrediction.png` があります。PNG を選択するとプロットが表示されます。このプロットは、このノートブックの結果をクリアした後も実行と共に残ります。モデルもここにあります。MLflow 3 では実行の概要の **[Logged models]** に、MLflow 2 では成果物の `model` フォルダーとして表示されます。
# MAGIC 1. 実験のページ (サイド パネルから開きます) でこのセッションの 3 つの実行を選択し、**[比較]** を選択すると、パラメーターとメトリックを並べて比較できます。これらの実行だけを一覧表示するには、*パラメーター* のセルが出力した ID を使って `tags.lab_session = '<id>'` で検索します。
# MAGIC
# MAGIC #### 実行を再現する
# MAGIC 再現性があれば、運用環境のモデルが期待どおりのモデルであると確信できます。実行の詳細ページで **[Reproduce run]** (ワークスペースで提供されている場合) を選択すると、その実行を行ったバージョンのノートブックが複製され、クラスターの設定が再作成されるので、もう一度実行できます。
# MAGIC
# MAGIC **ローカルで実行している場合:** 同じ画面は、ローカルの追跡サーバーの MLflow UI にあります。`python scripts/run_lab.py --keep-server` を実行し、出力される実験の URL を開いてください (どこをクリックするかは、ラボ ガイド `docs/lab-guide.ja.md` に記載されています)。次のセルは、ローカルのサーバーのように追跡サーバーに HTTP でアクセスしている場合に、実験の URL を出力します。

# COMMAND ----------

tracking_uri = mlflow.get_tracking_uri()
if tracking_uri.startswith("http"):
    print(f"Experiment page: {tracking_uri}/#/experiments/{experiment.experiment_id}")
else:
    print(f"Tracking server: {tracking_uri}; open the experiment from the notebook's Experiment side panel")

# COMMAND ----------

# MAGIC %md
# MAGIC ### プログラムで実験、実行、および実行の詳細を表示する
# MAGIC
# MAGIC `MlflowClient` を使用して、コードから実験の詳細を取得することもできます。

# COMMAND ----------

from mlflow.tracking import MlflowClient

client = MlflowClient()

print("Loaded MLflow Client")

# COMMAND ----------

# MAGIC %md
# MAGIC 次に、表示できる実験を `last_update_time` の新しいものから順に一覧表示します (ここでは最大 10 件)。名前に反して、この時刻は実行がログに記録されても変わりません。MLflow の追跡サーバーは、実験の作成時にこの時刻を設定し、実験の名前が変更されたとき、削除されたとき、または復元されたときにだけ変更します。そのため、この順序は、実験を最後に使用した順序ではありません。

# COMMAND ----------

# DBTITLE 1,実験を一覧表示する
experiments = client.search_experiments(order_by=["last_update_time DESC"], max_results=10)
for listed in experiments:
    last_update = datetime.fromtimestamp(listed.last_update_time / 1000, timezone.utc)
    print(f"{listed.experiment_id:>20}  last update {last_update:%Y-%m-%d %H:%M:%S} UTC  {listed.name}")

# COMMAND ----------

# MAGIC %md
# MAGIC このラボの実験は、一覧内の位置ではなく名前で選びます。位置は、実験が作成、名前変更、削除されるたびに変わるためです。`search_experiments` は、`search_runs` と同じようにフィルターを受け取ります。次に、`mlflow.search_runs` が実験の実行を pandas DataFrame として返します。1 行が 1 つの実行で、新しいものから順に並び、ログに記録されたメトリック (`metrics.*`)、パラメーター (`params.*`)、タグ (`tags.*`) が含まれます。返されるのは実験のすべての実行で、このセッションの実行も、以前のすべてのセッションの実行も含まれます。

# COMMAND ----------

# DBTITLE 1,このラボの実験の実行
# The name as the tracking server stored it (a workspace drops a /Workspace prefix), quoted with the kind of
# quote it does not contain: a ' inside '...' would end the filter's string early.
stored_name = experiment.name
quote = '"' if "'" in stored_name else "'"
[lab_experiment] = client.search_experiments(filter_string=f"name = {quote}{stored_name}{quote}")
experiment_id = lab_experiment.experiment_id
runs_df = mlflow.search_runs([experiment_id])

print(f"Experiment {experiment_name} holds {len(runs_df)} runs")
display(runs_df)

# COMMAND ----------

# MAGIC %md
# MAGIC 各行には、実行の ID、状態、時刻、パラメーター、各メトリックの最後の値、タグが含まれます。モデルとプロットは追跡サーバーに残り、実行 ID を使って見つけることができます。このような表を使うと、実験をさらに分析するのが簡単になります。たとえば、このセッションの実行を選び出すことができます。`filter_string` は、`lab_session` タグがこのセッションのものである実行だけを残します (実験のページの検索ボックスでも同じ構文を使用できます)。

# COMMAND ----------

# DBTITLE 1,このセッションの実行
session_runs_df = mlflow.search_runs([experiment_id], filter_string=f"tags.lab_session = '{lab_session}'",
                                     order_by=["attributes.start_time ASC"])  # fmt: skip

print(f"Session {lab_session} logged {len(session_runs_df)} of the experiment's {len(runs_df)} runs")
display(session_runs_df[["run_id", "tags.mlflow.runName", "params.elastic_net_param", "params.reg_param",
                         "params.max_iter", "metrics.rmse", "metrics.mae", "metrics.r2"]])  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC 次に、この実験の最後の実行 (開始時刻が最も新しいもの) を取得します。このノートブックを上から順に実行した場合、それはこのセッションの 3 つ目の実行です。`data.metrics` には、その実行のメトリックがキーと値のペアとして 1 つずつ含まれます。

# COMMAND ----------

# DBTITLE 1,最新の実行のメトリック
runs = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
last_run = runs[0]
print(f"Latest run: {last_run.info.run_name} (run id {last_run.info.run_id})")
last_run.data.metrics

# COMMAND ----------

# MAGIC %md
# MAGIC 実行がログに記録したモデルを読み込んで使用することもできます。`runs:/<run_id>/model` は、実行が `model` としてログに記録したモデルを指します。`info.run_id` は実行の一意の ID です。モデルには特徴量の作成が含まれているので、`test_df` の列をそのまま受け取ります。最新の実行のモデルを読み込み、テスト セットの最初の 3 件の乗車の料金を予測してみましょう。

# COMMAND ----------

# DBTITLE 1,モデルを読み込んで予測する
loaded_model = mlflow.sklearn.load_model(f"runs:/{last_run.info.run_id}/model")
top_rows = test_df.head(3)
display(top_rows.assign(prediction=loaded_model.predict(top_rows[feature_columns])))

# COMMAND ----------

# MAGIC %md
# MAGIC 最新の実行は最後にトレーニングした実行であり、最も良い予測をする実行とは限りません。最も良い実行を見つけるには、このセッションの実行を RMSE の低い順に並べて取得し、最初の実行を選びます。

# COMMAND ----------

# DBTITLE 1,このセッションの最良の実行
best_run = client.search_runs([experiment_id], filter_string=f"tags.lab_session = '{lab_session}'",
                              order_by=["metrics.rmse ASC"], max_results=1)[0]  # fmt: skip

print(f"Best run of this session: {best_run.info.run_name} (run id {best_run.info.run_id})")
print(f"  parameters: {best_run.data.params}")
print(f"  RMSE {best_run.data.metrics['rmse']:.4f}; the latest run, {last_run.info.run_name}, "
      f"has RMSE {last_run.data.metrics['rmse']:.4f}")  # fmt: skip

# COMMAND ----------

# MAGIC %md
# MAGIC 同じ方法で最良の実行のモデルを読み込み、同じ 3 つの乗車の料金を予測します。

# COMMAND ----------

# DBTITLE 1,最良のモデルを読み込んで予測する
best_model_uri = f"runs:/{best_run.info.run_id}/model"
best_model = mlflow.sklearn.load_model(best_model_uri)
print(f"Loaded {best_model_uri}")
display(top_rows.assign(prediction=best_model.predict(top_rows[feature_columns])))

# COMMAND ----------

# MAGIC %md
# MAGIC ## クリーンアップ
# MAGIC
# MAGIC 実行は次の演習のために実験に残しておきます。コースを終えたら、**[実験]** ページから実験を削除し、このラボのためにクラスターを起動した場合は **[コンピューティング]** ページでそのクラスターを終了します。

# COMMAND ----------

# DBTITLE 1,ジョブに概要を返す
# When a job runs this notebook (deploy.py run --runtime, the bundle's lab_matrix job), this summary is the
# task's output: the library versions of this runtime and the three runs above with their metrics.
dbutils.notebook.exit(lab_summary([run_1["run_id"], run_2["run_id"], run_3["run_id"]]))
